"""Who may do what, and which rows they may see: roles and project scope.

A user's role is one of viewer (pages, CSV), operator (also saved views and wall screens) and
admin (also Palette accounts, edge credentials, users). A user's scope is the set of Palette
accounts and projects whose rows they see; everything outside it is hidden on every page,
count, CSV and wall screen, as if it did not exist.

Where they come from (README "Single sign-on and roles"):
- superusers are admins and see everything;
- a Django group named `sso:<group>` is an identity-provider group the user was in at their last
  sign-in; SSO_GROUP_MAP says what it grants (role, accounts, projects), read at each request, so
  a change of the map applies at once and a group taken out of it grants nothing;
- a Django group named viewer, operator or admin grants that role over the whole fleet (local users);
- a local user in none of them is a viewer while SSO is off; with SSO on, nobody is anything by default.
The role is the highest one granted; the scope is the union of what the grants name, and the admin
role always sees the whole fleet (it manages every account anyway).

This module is the one place that answers both questions; views ask it, never the user's groups.
`AccessMiddleware` checks every view: a signed-in user needs the viewer role at least, or more where
the view says so with `role_required`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from functools import wraps
from urllib.parse import urlencode

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet, StringAgg, Value
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse


class Role(IntEnum):
    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3


ROLE_GROUPS = {"admin": Role.ADMIN, "operator": Role.OPERATOR, "viewer": Role.VIEWER}
SSO_GROUP_PREFIX = "sso:"


@dataclass(frozen=True)
class Scope:
    """The accounts (by id) and projects (by id) a user sees; None means all of them.

    A restricted scope shows a row when its account is one of `accounts` or its project one of
    `projects`; rows without a project (tenant-wide profiles, tenant audits) only by their account.
    """

    accounts: frozenset[int] | None = None
    projects: frozenset[int] | None = None

    @property
    def everything(self) -> bool:
        return self.accounts is None and self.projects is None

    def filter(self, queryset: QuerySet, account: str = "account", project: str = "project") -> QuerySet:
        """`queryset` cut to this scope; `account` and `project` name the row's fields for each."""
        if self.everything:
            return queryset
        allowed = Q()
        if self.accounts is not None:
            allowed |= Q(**{f"{account}_id__in": self.accounts})
        if self.projects is not None:
            allowed |= Q(**{f"{project}_id__in": self.projects})
        return queryset.filter(allowed)

    def visible_projects(self, queryset: QuerySet) -> QuerySet:
        """Projects (a Project queryset) this scope shows: those named, and every one of a named account."""
        if self.everything:
            return queryset
        return queryset.filter(Q(account_id__in=self.accounts or ()) | Q(id__in=self.projects or ()))

    def visible_accounts(self, queryset: QuerySet) -> QuerySet:
        """Accounts (a PaletteAccount queryset) this scope shows something of."""
        if self.everything:
            return queryset
        return queryset.filter(Q(id__in=self.accounts or ()) | Q(project__id__in=self.projects or ())).distinct()


EVERYTHING = Scope()
NOTHING = Scope(accounts=frozenset(), projects=frozenset())


@dataclass(frozen=True)
class Access:
    role: Role
    scope: Scope


def access_of(user: object) -> Access:
    """The user's role and scope, worked out once per user object (a request's user: once per request)."""
    cached = getattr(user, "_fleet_access", None)
    if cached is not None:
        return cached
    found = work_out(user)
    if getattr(user, "is_authenticated", False):
        user._fleet_access = found
    return found


def work_out(user: object) -> Access:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Access(Role.NONE, NOTHING)
    if user.is_superuser:
        return Access(Role.ADMIN, EVERYTHING)
    grant_map = getattr(settings, "SSO_GROUP_MAP", {})
    roles: list[Role] = []
    unrestricted = False
    account_names: set[str] = set()
    project_uids: set[str] = set()
    for name in group_names(user):
        if name.startswith(SSO_GROUP_PREFIX):
            grant = grant_map.get(name.removeprefix(SSO_GROUP_PREFIX))
            if grant is None:
                continue  # no longer in the map: grants nothing
            roles.append(ROLE_GROUPS[grant.role])
            unrestricted |= grant.everything
            account_names.update(grant.accounts)
            project_uids.update(grant.projects)
        elif name in ROLE_GROUPS:
            roles.append(ROLE_GROUPS[name])
            unrestricted = True
    if not roles:
        if getattr(settings, "SSO_ENABLED", False):
            return Access(Role.NONE, NOTHING)
        return Access(Role.VIEWER, EVERYTHING)
    role = max(roles)
    if unrestricted or role == Role.ADMIN:
        return Access(role, EVERYTHING)
    return Access(role, resolve(account_names, project_uids))


def group_names(user: object) -> list[str]:
    """The user's group names: loaded with the user by the backends below, else one query."""
    loaded = getattr(user, "fleet_group_names", None)
    if loaded is not None:
        return [name for name in loaded.split(GROUP_SEPARATOR) if name]
    return list(user.groups.values_list("name", flat=True))


def resolve(account_names: set[str], project_uids: set[str]) -> Scope:
    """Names and uids (from the map) as row ids: accounts by name, projects by Palette uid."""
    from dashboard.models import PaletteAccount, Project

    accounts = frozenset(PaletteAccount.objects.filter(name__in=account_names).values_list("id", flat=True))
    projects = frozenset(Project.objects.filter(uid__in=project_uids).values_list("id", flat=True))
    return Scope(accounts=accounts, projects=projects)


def role_of(user: object) -> Role:
    """The highest role the user holds (Role.NONE: signed in, but no access)."""
    return access_of(user).role


def scope_of(user: object) -> Scope:
    """The rows `user` may see."""
    return access_of(user).scope


def role_required(role: Role) -> Callable:
    """A view decorator: the view answers 403 unless the user holds `role` or a higher one.

    AccessMiddleware reads the same mark, so a view's need is checked before it runs, wherever it
    is routed from."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if role_of(request.user) < role:
                raise PermissionDenied(f"This page needs the {role.name.lower()} role.")
            return view(request, *args, **kwargs)

        checked.required_role = role
        return checked

    return decorate


def required_role(request: HttpRequest, view: Callable) -> Role:
    """The role a view needs: the Django admin's, the admin role; otherwise what it was marked with."""
    match = request.resolver_match
    if match is not None and "admin" in match.namespaces:
        return Role.ADMIN
    return getattr(view, "required_role", Role.VIEWER)


# Views any signed-in user reaches whatever their role: signing out.
OPEN_TO_SIGNED_IN = {"logout", "account_logout"}


class AccessMiddleware:
    """Checks every view's role before it runs (after LoginRequiredMiddleware, which handles the anonymous).

    Public views (marked `login_not_required`) are left alone. A signed-in user without any role
    gets the "no access" page (403), never a redirect to the login page (which would loop); one
    without the role a view needs gets 403. The Django admin's own login page is not used: it sends
    to the dashboard's, where SSO and the break-glass rule apply.
    """

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable, args: tuple, kwargs: dict) -> HttpResponse | None:
        match = request.resolver_match
        if match is not None and match.view_name == "admin:login":
            target = reverse(settings.LOGIN_URL)
            following = request.GET.get("next")
            return redirect(f"{target}?{urlencode({'next': following})}" if following else target)
        if not request.user.is_authenticated:
            return None  # LoginRequiredMiddleware (or the admin, for its pages) sends to the login page
        in_admin = match is not None and "admin" in match.namespaces
        if not getattr(view, "login_required", True) and not in_admin:
            return None  # public: the login flow, health, metrics, wall tokens
        if match is not None and match.url_name in OPEN_TO_SIGNED_IN:
            return None
        role = role_of(request.user)
        if role >= required_role(request, view):
            return None
        if role == Role.NONE:
            return no_access(request)
        raise PermissionDenied(f"This page needs the {required_role(request, view).name.lower()} role.")


def no_access(request: HttpRequest) -> HttpResponse:
    """The page of a signed-in user no group gives access to: who they are, and whom to ask."""
    context = {"groups_claim": getattr(settings, "SSO_GROUPS_CLAIM", "groups")}
    return render(request, "sso/no_access.html", context, status=403)


class RoleBackend:
    """An authentication backend that authenticates nobody and grants the admin role every permission,
    so SSO admins manage accounts, edge credentials and users in the Django admin without being
    superusers (and lose it with the role at their next sign-in)."""

    def authenticate(self, request: HttpRequest, **credentials: object) -> None:
        return None

    def has_perm(self, user: object, perm: str, obj: object = None) -> bool:
        return getattr(user, "is_staff", False) and role_of(user) == Role.ADMIN

    def has_module_perms(self, user: object, app_label: str) -> bool:
        return getattr(user, "is_staff", False) and role_of(user) == Role.ADMIN


@dataclass(frozen=True)
class Allowed:
    """What templates ask (`{% if access.operator %}`): whether the user holds a role or a higher one."""

    role: Role

    @property
    def viewer(self) -> bool:
        return self.role >= Role.VIEWER

    @property
    def operator(self) -> bool:
        return self.role >= Role.OPERATOR

    @property
    def admin(self) -> bool:
        return self.role >= Role.ADMIN


def context(request: HttpRequest) -> dict:
    """Template context processor: `access`, the signed-in user's role as yes/no questions."""
    return {"access": Allowed(role_of(getattr(request, "user", None)))}


GROUP_SEPARATOR = "\n"


class GroupsWithUser:
    """A backend's get_user that loads the session's user with its group names in the same query, so
    answering the role and scope costs a page no query of its own."""

    def get_user(self, user_id: object) -> object:
        users = get_user_model()._default_manager.annotate(
            fleet_group_names=StringAgg("groups__name", delimiter=Value(GROUP_SEPARATOR), default="")
        )
        try:
            user = users.get(pk=user_id)
        except users.model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class PasswordBackend(GroupsWithUser, ModelBackend):
    """Django's username and password backend (local users, the break-glass admin)."""


class SsoBackend(GroupsWithUser, AllauthBackend):
    """allauth's backend (the users who sign in through the identity provider)."""
