from django.urls import path

from dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.cluster_list, name="cluster_list"),
    path("clusters/", views.cluster_list, name="cluster_list_alias"),
]
