"""The sign-in page: the SSO button when SSO is on, and the password form, which SSO turns off for
everyone but the break-glass account named in SSO_BREAK_GLASS_USERNAME."""

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.urls import reverse

from sso.config import OIDC_PROVIDER_ID, SAML_ORGANIZATION

SSO_ONLY = (
    "Password sign-in is turned off: sign in with {name}. Only the break-glass administrator account may use "
    "a password here."
)


class LoginForm(AuthenticationForm):
    """Django's form; with SSO on, a username other than the break-glass one is refused before any
    password is checked."""

    error_messages = {**AuthenticationForm.error_messages, "sso_only": SSO_ONLY}

    def clean(self) -> dict:
        username = self.cleaned_data.get("username") or ""
        if settings.SSO_ENABLED and (
            not settings.SSO_BREAK_GLASS_USERNAME or username != settings.SSO_BREAK_GLASS_USERNAME
        ):
            raise forms.ValidationError(self.error_messages["sso_only"].format(name=settings.SSO_NAME), code="sso_only")
        return super().clean()


def sso_buttons() -> list[tuple[str, str]]:
    """(label, URL to POST to) for each configured identity provider."""
    buttons = []
    if settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect"):
        buttons.append((settings.SSO_NAME, reverse("openid_connect_login", kwargs={"provider_id": OIDC_PROVIDER_ID})))
    if settings.SOCIALACCOUNT_PROVIDERS.get("saml"):
        buttons.append((settings.SSO_NAME, reverse("saml_login", kwargs={"organization_slug": SAML_ORGANIZATION})))
    return buttons


class LoginView(auth_views.LoginView):
    form_class = LoginForm

    def get_context_data(self, **kwargs: object) -> dict:
        context = super().get_context_data(**kwargs)
        context.update(sso_enabled=settings.SSO_ENABLED, sso_buttons=sso_buttons(), sso_name=settings.SSO_NAME)
        return context


login = LoginView.as_view()
