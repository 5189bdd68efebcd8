"""How an identity provider's sign-in becomes a dashboard user (README "Single sign-on and roles").

At every SSO sign-in the groups claim is read afresh: the user's `sso:<group>` Django groups are set
to the mapped groups they are in now (dashboard/access.py reads the grants from SSO_GROUP_MAP), the
Django admin opens to them only with the admin role, and their email and name follow the claims.
A user in no mapped group is not signed in: they get the "no access" page, and an existing user
loses what their groups gave them, there and then.
"""

import logging

from allauth.account.signals import user_logged_in
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.shortcuts import render

from dashboard.access import ROLE_GROUPS, SSO_GROUP_PREFIX, Role

log = logging.getLogger(__name__)


def claimed_groups(sociallogin: SocialLogin) -> list[str]:
    """The groups the identity provider says the user is in, from the configured claim.

    OIDC: the ID token's claim, else the userinfo's. SAML: the attribute of that name."""
    data = sociallogin.account.extra_data or {}
    claim = settings.SSO_GROUPS_CLAIM
    if "id_token" in data or "userinfo" in data:
        found = (data.get("id_token") or {}).get(claim)
        if found is None:
            found = (data.get("userinfo") or {}).get(claim)
    else:
        found = data.get(claim)
    if isinstance(found, str):
        found = [found]
    return [str(g) for g in found] if isinstance(found, list) else []


def mapped_groups(sociallogin: SocialLogin) -> list[str]:
    return sorted({name for name in claimed_groups(sociallogin) if name in settings.SSO_GROUP_MAP})


def apply_groups(user: object, names: list[str]) -> None:
    """Make the user's SSO groups exactly `names`; the Django admin is theirs only with the admin role."""
    with transaction.atomic():
        wanted = [Group.objects.get_or_create(name=SSO_GROUP_PREFIX + name)[0] for name in names]
        kept = list(user.groups.exclude(name__startswith=SSO_GROUP_PREFIX))
        user.groups.set([*kept, *wanted])
        roles = [ROLE_GROUPS[settings.SSO_GROUP_MAP[name].role] for name in names]
        staff = max(roles, default=Role.NONE) == Role.ADMIN or user.is_superuser
        if user.is_staff != staff:
            user.is_staff = staff
            user.save(update_fields=["is_staff"])
    user.__dict__.pop("_fleet_access", None)


class FleetSocialAccountAdapter(DefaultSocialAccountAdapter):
    """allauth's hooks: refuse a user no mapped group admits, name users from their claims, and
    turn a provider that cannot be reached or that refused into a clear page."""

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        if sociallogin.state.get("process") == "connect":  # one identity is one user: no linking a second
            raise ImmediateHttpResponse(render(request, "sso/error.html", {}, status=400))
        if mapped_groups(sociallogin):
            return
        who = sociallogin.user.email or sociallogin.account.uid
        if sociallogin.is_existing:
            apply_groups(sociallogin.user, [])
        log.warning("SSO sign-in refused: %s is in no group of SSO_GROUP_MAP", who)
        context = {"who": who, "groups_claim": settings.SSO_GROUPS_CLAIM, "signed_out": True}
        raise ImmediateHttpResponse(render(request, "sso/no_access.html", context, status=403))

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict) -> object:
        """Username from the claims (preferred_username, else the email); a name already taken by
        another account (a local one) is left for allauth to make unique."""
        user = super().populate_user(request, sociallogin, data)
        username = data.get("username") or data.get("email") or ""
        taken = get_user_model().objects.filter(username__iexact=username).exists()
        user.username = "" if taken else username[:150]
        return user

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: object,
        error: object = None,
        exception: object = None,
        extra_context: object = None,
    ) -> None:
        """Log why (not the secrets) and show the sign-in error page, with a way back."""
        log.warning("SSO sign-in failed: %s %s", error, type(exception).__name__ if exception else "")
        context = {"unreachable": is_unreachable(exception), "cancelled": str(error) == "cancelled"}
        raise ImmediateHttpResponse(
            render(request, "sso/error.html", context, status=502 if context["unreachable"] else 400)
        )


def is_unreachable(exception: object) -> bool:
    """Whether the identity provider could not be reached or answered with an error (not the user's doing)."""
    import requests

    return isinstance(exception, requests.RequestException)


@receiver(user_logged_in)
def refresh_from_claims(sender: type, request: HttpRequest, user: object, **kwargs: object) -> None:
    """At each SSO sign-in: groups, email and name as the identity provider says now."""
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is None:
        return
    apply_groups(user, mapped_groups(sociallogin))
    claims = _pick(sociallogin.account.extra_data)
    changed = []
    for field, claim in (("email", "email"), ("first_name", "given_name"), ("last_name", "family_name")):
        value = claims.get(claim)
        value = (value[0] if isinstance(value, list) and value else value) or ""
        if isinstance(value, str) and value and getattr(user, field) != value[:150]:
            setattr(user, field, value[:150])
            changed.append(field)
    if changed:
        user.save(update_fields=changed)
    log.info("SSO sign-in: %s with groups %s", user.get_username(), ", ".join(mapped_groups(sociallogin)))


def _pick(data: dict) -> dict:
    """The claims as the provider reads them (OIDC keeps the ID token and userinfo apart)."""
    if isinstance(data, dict) and ("id_token" in data or "userinfo" in data):
        return {**(data.get("userinfo") or {}), **(data.get("id_token") or {})}
    return data or {}
