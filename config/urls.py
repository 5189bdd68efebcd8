from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # Operations: /healthz, /readyz, /metrics (README "Operations"); no login.
    path("", include("ops.urls")),
    # Wall screens: managed by operators; a display's own URL needs no login (wall/views.py).
    path("wall/", include("wall.urls")),
    path("", include("dashboard.urls")),
]

# A database that cannot be reached answers a clear 503 page (config/errors.py), any other error the 500 page.
handler500 = "config.errors.server_error"
