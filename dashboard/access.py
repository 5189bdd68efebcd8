"""Who may do what, and which rows they may see: roles and project scope.

A user's role is one of viewer (pages, CSV), operator (also saved views and wall screens) and
admin (also Palette accounts, edge credentials, users). A user's scope is the set of Palette
accounts and projects whose rows they see; everything outside it is hidden on every page,
count, CSV and wall screen, as if it did not exist.

This module is the one place that answers both questions; views ask it, never the user's groups.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet


class Role(IntEnum):
    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3


ROLE_GROUPS = {"admin": Role.ADMIN, "operator": Role.OPERATOR, "viewer": Role.VIEWER}


def role_of(user: object) -> Role:
    """The highest role the user holds: superusers are admins; groups named like a role grant it."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Role.NONE
    if user.is_superuser:
        return Role.ADMIN
    names = {group.name for group in user.groups.all()}
    return max((ROLE_GROUPS[name] for name in names if name in ROLE_GROUPS), default=Role.VIEWER)


def role_required(role: Role) -> Callable:
    """A view decorator: the view answers 403 unless the user holds `role` or a higher one."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(request, *args, **kwargs):
            if role_of(request.user) < role:
                raise PermissionDenied(f"This page needs the {role.name.lower()} role.")
            return view(request, *args, **kwargs)

        return checked

    return decorate


@dataclass(frozen=True)
class Scope:
    """The accounts (by id) and projects (by id) a user sees; None means all of them."""

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


EVERYTHING = Scope()


def scope_of(user: object) -> Scope:
    """The rows `user` may see. Today every signed-in user sees the whole fleet."""
    return EVERYTHING
