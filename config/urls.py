from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

from sso import views as sso_views

urlpatterns = [
    # Sign-in: SSO button, password form for local users or only the break-glass admin (README "Single sign-on").
    path("login/", sso_views.login, name="login"),
    path("accounts/login/", login_not_required(RedirectView.as_view(pattern_name="login", query_string=True))),
    # Linking a second identity to an account is not offered: one IdP identity is one user.
    path("accounts/3rdparty/", RedirectView.as_view(pattern_name="dashboard:overview")),
    path("accounts/", include("allauth.urls")),
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
