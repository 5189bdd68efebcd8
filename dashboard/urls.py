from django.urls import path

from dashboard.views import clusters, edgehosts, overview, profiles, saved, sync, timeline

app_name = "dashboard"
urlpatterns = [
    path("", overview.overview, name="overview"),
    path("clusters/", clusters.cluster_list, name="cluster_list"),
    path("clusters/<str:uid>/", clusters.cluster_detail, name="cluster_detail"),
    path("profiles/", profiles.profile_list, name="profile_list"),
    path("profiles/<str:uid>/", profiles.profile_detail, name="profile_detail"),
    path("edge-hosts/", edgehosts.edgehost_list, name="edgehost_list"),
    path("edge-hosts/sites/", edgehosts.site_list, name="site_list"),
    path("edge-hosts/<str:uid>/", edgehosts.edgehost_detail, name="edgehost_detail"),
    path("timeline/", timeline.timeline_list, name="timeline"),
    path("sync/", sync.sync_status, name="sync_status"),
    path("views/", saved.savedview_create, name="savedview_create"),
    path("views/<int:pk>/delete/", saved.savedview_delete, name="savedview_delete"),
]
