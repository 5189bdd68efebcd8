"""Fixtures of the wall screen tests: three users (admin, operator, viewer), a small fleet in two
projects (north has problems, south is healthy), and a way to make a display with its token."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from dashboard.models import (
    Cluster,
    EdgeHost,
    FleetCount,
    PaletteAccount,
    Project,
    SiteSummary,
    SyncScope,
    TimelineEntry,
)
from wall.models import Display

PASSWORD = "wall-tests-password-only"


def user_with_role(name: str, role: str = "") -> User:
    user = User.objects.create_user(name, password=PASSWORD)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def operator(db: None) -> User:
    return user_with_role("olivia", "operator")


@pytest.fixture
def viewer(db: None) -> User:
    return user_with_role("victor", "viewer")


@pytest.fixture
def admin(db: None) -> User:
    return User.objects.create_superuser("ada", password=PASSWORD)


def sync_ran() -> None:
    """What the end of a sync run writes: its SyncScope row (the wall's data version moves)."""
    SyncScope.objects.update(last_finished_at=timezone.now())


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def make_display(db: None) -> Callable[..., tuple[Display, str]]:
    """make_display(user, screens=[...], **fields) -> (display, token)."""

    def make(user: User, screens: list[str] | None = None, **fields: object) -> tuple[Display, str]:
        display = Display(name=fields.pop("name", "Ops room"), created_by=user, **fields)
        display.screens = screens if screens is not None else ["overview", "unhealthy", "sites", "timeline"]
        token = display.new_token()
        display.save()
        return display, token

    return make


@pytest.fixture
def fleet(db: None) -> dict:
    """Project north: 2 unhealthy clusters of 6, an unhealthy edge host at site store-n, a timeline entry.
    Project south: 4 healthy clusters, a healthy host at site store-s, its own timeline entry."""
    now = timezone.now()
    account = PaletteAccount.objects.create(name="acme", api_url="https://palette.example")
    projects = {
        name: Project.objects.create(account=account, uid=f"uid-{name}", name=name, first_seen_at=now, last_seen_at=now)
        for name in ("north", "south")
    }
    clusters = []
    for name, project, n, bad in (("north", projects["north"], 6, 2), ("south", projects["south"], 4, 0)):
        for i in range(n):
            clusters.append(
                Cluster(
                    account=account,
                    project=project,
                    uid=f"{name}-c{i}",
                    name=f"{name}-cluster-{i}",
                    state="Running",
                    health=Cluster.UNHEALTHY if i < bad else "Healthy",
                    health_since=now - timedelta(hours=3 + i),
                    first_seen_at=now - timedelta(days=2),
                    last_seen_at=now,
                )
            )
        FleetCount.objects.create(
            account=account, project=project, resource="clusters", dimension="health", value="Healthy", count=n - bad
        )
        if bad:
            FleetCount.objects.create(
                account=account,
                project=project,
                resource="clusters",
                dimension="health",
                value=Cluster.UNHEALTHY,
                count=bad,
            )
    Cluster.objects.bulk_create(clusters)
    for name, health in (("north", EdgeHost.UNHEALTHY), ("south", "healthy")):
        project = projects[name]
        EdgeHost.objects.create(
            account=account,
            project=project,
            uid=f"{name}-h1",
            name=f"{name}-host-1",
            health=health,
            health_since=now - timedelta(hours=1),
            site=f"store-{name[0]}",
            first_seen_at=now,
            last_seen_at=now,
        )
        FleetCount.objects.create(
            account=account, project=project, resource="edgehosts", dimension="health", value=health, count=1
        )
        bad = int(health == EdgeHost.UNHEALTHY)
        SiteSummary.objects.create(
            account=account,
            project=project,
            site=f"store-{name[0]}",
            hosts=1,
            healthy=1 - bad,
            unhealthy=bad,
            trouble=bad,
        )
        TimelineEntry.objects.create(
            account=account,
            project=project,
            kind=TimelineEntry.Kind.AUDIT,
            source_id=f"audit-{name}",
            occurred_at=now - timedelta(minutes=5),
            subject_name=f"{name}-cluster-0",
            action="update",
            message=f"changed in {name}",
        )
        for resource in ("clusters", "edgehosts"):
            SyncScope.objects.create(
                account=account, project=project, resource=resource, last_status="ok", ok_started_at=now
            )
    return {"account": account, "projects": projects, "now": now}
