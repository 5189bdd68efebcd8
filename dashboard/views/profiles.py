"""The cluster-profile list and a profile's page (issue: pages, /profiles/ "version adoption").

Palette gives every version of a profile its own uid and row (REFERENCE.md 9); a profile is the
version rows of one (account, name, owning project). The list pages over profiles with one GROUP
BY on the version rows (in the order of the (account, name) index), then loads the versions of the
profiles on the page; its adoption figures are the in-use counts Palette reports on each version,
already on the rows. Counting ProfileUse for the page instead would read every use of a popular
profile (tens of thousands of rows) per request; a profile's own page does count them, exactly.
"""

import csv
import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import batched
from types import SimpleNamespace

from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard import freshness, labels
from dashboard.access import Scope, scope_of
from dashboard.filters import ProfileFilter
from dashboard.lists import Echo, FleetList, cell_text
from dashboard.models import ClusterProfile, ProfileUse, SavedView
from dashboard.tables import Key, ProfileTable, adoption_bar, clusters_link, iso, record_key
from dashboard.views.common import get_synced_or_404

LAGGING_ROWS = 100  # clusters behind the latest listed on a profile's page; the cluster list has them all
MATRIX_VERSIONS = 20  # versions (columns) of the pack matrix, newest; the page's own is always one of them
VERSION_FIELDS = (
    "uid",
    "account_id",
    "project_id",
    "name",
    "version",
    "latest_version",
    "cluster_count",
    "is_published",
    "created_at",
    "removed_at",
    "kubernetes_version",
)
# A profile's owners by name, read with its version rows (no account and project objects per row).
OWNER_NAMES = {"account_name": F("account__name"), "project_name": F("project__name")}
LAGGING_FIELDS = (
    "profile_uid",
    "version",
    "latest_version",
    "cluster__uid",
    "cluster__name",
    "cluster__health",
    "cluster__heartbeat_at",
    "cluster__project__name",
)


# -- Versions and their adoption ------------------------------------------------------------------


class VersionRow(SimpleNamespace):
    """A version row as lists read it: `pk`, VERSION_FIELDS and OWNER_NAMES as attributes, from
    `values()`. A page's 200 rows as model objects (deferred fields and all) cost about 5 ms more."""


@functools.lru_cache(maxsize=4096)  # a page sorts a few hundred versions, most of them alike ("1.2.0")
def version_key(version: str) -> tuple:
    """A version string in the order people read it: 1.10.0 after 1.9.2 (numbers compare as numbers)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|[^\d.]+", version))


@dataclass
class Version:
    """One version of a profile and how many clusters run it."""

    row: ClusterProfile | VersionRow
    is_latest: bool
    clusters: int = 0  # Palette's in-use count of the version, or on a profile's page the ProfileUse count
    own: bool = False  # the version whose uid the page was asked for
    bar: str = ""  # its adoption bar, on a profile's page
    reported: int | None = None  # on a profile's page: Palette's in-use count, beside the counted one

    @property
    def version(self) -> str:
        return self.row.version

    @property
    def behind(self) -> bool:
        """An older version than the latest (as the sync decides ProfileUse.behind); False when unknown."""
        return bool(self.row.version and self.row.latest_version and not self.is_latest)


@dataclass
class Profile:
    """The versions of one profile, newest first, with their adoption."""

    key: Key
    latest_version: str
    account_name: str = ""
    project_name: str = ""
    versions: list[Version] = field(default_factory=list)

    @property
    def clusters(self) -> int:
        return sum(v.clusters for v in self.versions)

    @property
    def lagging(self) -> int:
        return sum(v.clusters for v in self.versions if v.behind)

    @property
    def latest(self) -> Version | None:
        return next((v for v in self.versions if v.is_latest), None)

    @property
    def link_uid(self) -> str:
        """The uid that names the profile in links: its latest version's, else its newest's."""
        return (self.latest or self.versions[0]).row.uid

    def list_versions(self, limit: int) -> list[Version]:
        """What a list row shows: the latest, then the versions clusters run, newest first."""
        shown = [v for v in self.versions if v.is_latest or v.clusters]
        return (shown or self.versions[:1])[:limit]


def group_versions(
    rows: Iterable[ClusterProfile | VersionRow], own: ClusterProfile | None = None
) -> dict[Key, Profile]:
    """Group version rows (annotated with OWNER_NAMES) into profiles, newest version first, adoption
    as Palette reports it."""
    grouped: dict[Key, list[ClusterProfile | VersionRow]] = defaultdict(list)
    for row in rows:
        grouped[(row.account_id, row.project_id, row.name)].append(row)
    profiles = {}
    for key, group in grouped.items():
        group.sort(key=lambda r: (version_key(r.version), r.created_at or timezone.now()), reverse=True)
        latest = next((r.latest_version for r in group if r.latest_version), "")
        first = group[0]  # annotated with OWNER_NAMES
        profile = profiles[key] = Profile(key, latest, first.account_name, first.project_name or "")
        for row in group:
            mine = own is not None and row.pk == own.pk
            profile.versions.append(Version(row, bool(latest) and row.version == latest, row.cluster_count, mine))
    return profiles


def load_profiles(rows: QuerySet, keys: list[Key]) -> dict[Key, Profile]:
    """The versions (among `rows`, the filtered version rows) of the profiles `keys`: one indexed query."""
    if not keys:
        return {}
    wanted = set(keys)
    versions = (
        rows.select_related(None)
        .order_by()
        .filter(account_id__in={k[0] for k in keys}, name__in={k[2] for k in keys})
        .values("pk", *VERSION_FIELDS, **OWNER_NAMES)
    )
    return group_versions(VersionRow(**r) for r in versions if (r["account_id"], r["project_id"], r["name"]) in wanted)


def count_uses(profile: Profile) -> None:
    """Replace Palette's in-use counts by the live clusters whose own listing names each version.

    Two indexed queries: every use of the versions (read from the (account, profile_uid) index
    alone), less the uses by removed clusters (few). One join over the uses would read the
    cluster of each of a popular profile's tens of thousands of uses.
    """
    account_id = profile.key[0]
    uids = [v.row.uid for v in profile.versions]
    uses = ProfileUse.objects.filter(account_id=account_id, profile_uid__in=uids).values("profile_uid")
    counts = {u["profile_uid"]: u["n"] for u in uses.annotate(n=Count("*")).order_by()}
    gone = uses.filter(cluster__removed_at__isnull=False).annotate(n=Count("*")).order_by()
    for use in gone:
        counts[use["profile_uid"]] -= use["n"]
    for version in profile.versions:
        version.clusters = counts.get(version.row.uid, 0)


# -- The list ---------------------------------------------------------------------------------------


def grouped(rows: QuerySet, behind_only: bool = False) -> QuerySet:
    """One row per profile (account, name, owner) of the version rows `rows`: one GROUP BY, no join.

    Ordered by (account, name) it reads the (account, name) index only as far as the page; sorting
    by clusters groups every row (a few thousand). The counts are Palette's in-use counts per version.
    """
    lags = Q(version__gt="", latest_version__gt="") & ~Q(version=F("latest_version"))
    names = (
        rows.select_related(None)
        .order_by()
        .values("account_id", "name", "project_id")
        .annotate(
            uid=Max("uid"),
            n_versions=Count("id"),
            in_use=Coalesce(Sum("cluster_count"), 0),
            lagging=Coalesce(Sum("cluster_count", filter=lags), 0),
            latest=Max("latest_version"),
            ptype=Max("profile_type"),
            cloud=Max("cloud_type"),
            pscope=Max("scope"),
            first_seen=Min("first_seen_at"),
            last_modified=Max("modified_at"),
            removed=Max("removed_at"),
        )
    )
    if behind_only:
        names = names.filter(lagging__gt=0)
    return names.order_by("account_id", "name", "project_id")


CSV_HEADER = [
    "Account",
    "Project",
    "Scope",
    "Type",
    "Cloud",
    "Profile",
    "Version",
    "Latest version",
    "Is latest",
    "Published",
    "Clusters",
    "Created",
    "Uid",
]


class ProfileList(FleetList):
    """Profiles: versions, clusters on each, latest, clusters behind; filter, search, sort, page."""

    template_name = "dashboard/profile_list.html"
    filterset_class = ProfileFilter
    table_class = ProfileTable
    saved_page = SavedView.Page.PROFILES
    resources = freshness.PROFILES
    title = "Profiles"

    def get_queryset(self) -> QuerySet:
        return ClusterProfile.objects.all()

    def get_table_data(self) -> QuerySet:
        return grouped(self.object_list, self.filterset.behind_only)

    def get_table(self, **kwargs: object) -> ProfileTable:
        table = super().get_table(**kwargs)
        table.profiles = load_profiles(self.object_list, [record_key(row.record) for row in table.paginated_rows])
        return table

    def export_csv(self) -> StreamingHttpResponse:
        """Every version of every profile of the current view, in the view's order: a row per version."""
        names = self.get_table(**self.get_table_kwargs()).data.data  # sorted as the page is

        def lines() -> Iterator[str]:
            out = csv.writer(Echo())
            yield out.writerow(CSV_HEADER)
            for chunk in batched(names.iterator(chunk_size=500), 500):
                profiles = load_profiles(self.object_list, [record_key(r) for r in chunk])
                for record in chunk:
                    profile = profiles.get(record_key(record))
                    for version in profile.versions if profile else []:
                        yield out.writerow([cell_text(v) for v in csv_row(profile, record, version)])

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.saved_page}-{stamp}.csv"'
        return response


def csv_row(profile: Profile, record: dict, version: Version) -> list[object]:
    row = version.row
    return [
        profile.account_name,
        profile.project_name,
        labels.readable(record["pscope"]),
        labels.readable(record["ptype"]),
        labels.readable(record["cloud"]),
        row.name,
        row.version,
        row.latest_version,
        "yes" if version.is_latest else "no",
        "yes" if row.is_published else "no",
        version.clusters,
        iso(row.created_at),
        row.uid,
    ]


profile_list = ProfileList.as_view()


# -- A profile's page -----------------------------------------------------------------------------

LAYER_ORDER = {"os": 0, "k8s": 1, "cni": 2, "csi": 3}


def pack_matrix(versions: list[Version]) -> list[dict]:
    """Packs as rows, versions as columns (oldest first). A cell that differs from the column before
    it says "changed", "added" or "removed" in words, not by colour alone."""
    packs: dict[tuple[str, str], dict[int, str]] = {}
    for i, version in enumerate(versions):
        for pack in version.row.packs if isinstance(version.row.packs, list) else []:
            if isinstance(pack, dict):
                cells = packs.setdefault((str(pack.get("layer") or ""), str(pack.get("name") or "")), {})
                cells.setdefault(i, str(pack.get("version") or ""))
    rows = []
    for (layer, name), cells in sorted(packs.items(), key=lambda p: (LAYER_ORDER.get(p[0][0], 9), p[0])):
        row = {"layer": layer, "name": name, "cells": [], "changed": False}
        for i, version in enumerate(versions):
            value, before = cells.get(i), cells.get(i - 1)
            change = ""
            if i and value != before:
                change = "added" if before is None else "removed" if value is None else "changed"
            row["changed"] = row["changed"] or bool(change)
            row["cells"].append({"value": value, "change": change, "own": version.own})
        rows.append(row)
    return rows


def matrix_versions(profile: Profile) -> list[Version]:
    """The versions the matrix shows, oldest first: the newest MATRIX_VERSIONS, and the page's own."""
    shown = profile.versions[:MATRIX_VERSIONS]
    own = next((v for v in profile.versions if v.own), None)
    if own is not None and own not in shown:
        shown = [*shown[:-1], own]
    return list(reversed(shown))


def lagging_uses(profile: Profile, rows: Scope) -> list[ProfileUse]:
    """Up to LAGGING_ROWS live clusters on an older version, oldest version first.

    Not sorted in SQL: sorting every lagging cluster of a popular profile by name would read them
    all; the cluster list (linked) sorts and pages the whole set.
    """
    older = {v.row.uid: i for i, v in enumerate(reversed(profile.versions)) if not v.is_latest}
    if not older or not profile.latest_version:
        return []
    uses = ProfileUse.objects.filter(
        account_id=profile.key[0], profile_uid__in=list(older), behind=True, cluster__removed_at__isnull=True
    )
    uses = list(
        rows.filter(uses, project="cluster__project")
        .select_related("cluster__project")
        .only(*LAGGING_FIELDS)
        .order_by()[:LAGGING_ROWS]
    )
    return sorted(uses, key=lambda u: (older.get(u.profile_uid, 0), u.cluster.name.lower(), u.cluster_id))


@require_GET
def profile_detail(request: HttpRequest, uid: str) -> HttpResponse:
    """One profile (by any version's uid): its versions, packs per version, adoption, clusters behind."""
    rows = scope_of(request.user)
    own = get_synced_or_404(rows.filter(ClusterProfile.objects.select_related("project", "account")), uid)
    siblings = ClusterProfile.objects.filter(
        Q(removed_at__isnull=True) | Q(pk=own.pk), account_id=own.account_id, name=own.name, project_id=own.project_id
    ).annotate(**OWNER_NAMES)
    profile = group_versions(siblings.defer("raw", "in_use_clusters"), own=own)[
        (own.account_id, own.project_id, own.name)
    ]
    reported = {v.row.uid: v.clusters for v in profile.versions}
    count_uses(profile)
    for version in profile.versions:
        version.bar = adoption_bar(version.clusters, profile.clusters, width=160)
        version.reported = reported[version.row.uid]
    lagging = lagging_uses(profile, rows)
    shown = matrix_versions(profile)
    context = {
        "own": own,
        "profile": profile,
        "matrix_versions": shown,
        "matrix": pack_matrix(shown),
        "lagging": lagging,
        "behind_url": clusters_link(own.name, behind="on"),
        "clusters_url": clusters_link(own.name),
        "freshness": freshness.banner(freshness.PROFILES, rows=rows),
    }
    return render(request, "dashboard/profile_detail.html", context)
