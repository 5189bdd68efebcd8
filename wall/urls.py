from django.urls import path

from wall import views

app_name = "wall"
urlpatterns = [
    path("", views.display_list, name="display_list"),
    path("new/", views.display_create, name="display_create"),
    path("displays/<int:pk>/", views.display_edit, name="display_edit"),
    path("displays/<int:pk>/revoke/", views.display_revoke, name="display_revoke"),
    # A display's own URLs: the token is the only credential (wall/models.py).
    path("<str:token>/", views.wall_page, name="wall_page"),
    path("<str:token>/screens/", views.wall_screens, name="wall_screens"),
]
