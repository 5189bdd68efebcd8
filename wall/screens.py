"""What a wall display shows: its screens' data, read within the creator's project scope.

Each screen is built from the same querysets, filter sets and tables as the pages (the overview's
counts, the site roll-up, the timeline, a saved view's list), cut to a few rows a TV can show. A
screen's `fingerprint` is the data it shows as plain values: the wall's ETag is a digest of the
fingerprints, so an unchanged wall answers 304 without rendering anything. An ETag is remembered
(Django's cache) with the data's version, the last sync run's end: while neither moves, a poll is
answered without reading the screens' data at all. A drawn screen is kept too, by (screen, scope,
version), and shared by every display that shows it.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.http import HttpRequest, QueryDict
from django.template.loader import render_to_string
from django.utils import timezone

from dashboard import freshness
from dashboard.access import Scope, scope_of
from dashboard.models import Cluster, EdgeHost, FleetCount, SavedView, SyncScope, TimelineEntry
from dashboard.views import overview
from dashboard.views.clusters import ClusterList
from dashboard.views.edgehosts import EdgeHostList, as_site, site_rows
from dashboard.views.profiles import ProfileList
from dashboard.views.timeline import build_filterset
from wall.build import build_id
from wall.models import Display

ROWS = 10  # rows of any list on a screen: what reads from 5 m on a 1080p TV
# An ETag computed from the data is trusted this long while the data's version stays: a poll then
# costs two small queries. Beyond it the data is read again, so what no sync run announces (a
# display's creator losing a group, the sync falling behind) shows within a minute.
ETAG_TRUST = 60
BUILT_IN = {
    "overview": "Overview",
    "unhealthy": "Unhealthy now",
    "sites": "Edge sites, worst first",
    "timeline": "Latest on the timeline",
}
LISTS = {
    SavedView.Page.CLUSTERS: ClusterList,
    SavedView.Page.EDGE_HOSTS: EdgeHostList,
    SavedView.Page.PROFILES: ProfileList,
}
UNHEALTHY = (Cluster.UNHEALTHY, EdgeHost.UNHEALTHY)
TV_HIDDEN = ("profiles",)  # a list of chips per row: unreadable from 5 m, and it makes rows tall
NOUNS = {SavedView.Page.CLUSTERS: "cluster", SavedView.Page.EDGE_HOSTS: "edge host", SavedView.Page.PROFILES: "profile"}


@dataclass
class Screen:
    """One screen of a display: its title, the template that draws it, its data, and whether it shows a problem."""

    key: str
    title: str
    template: str
    data: dict = field(default_factory=dict)
    problem: bool = False
    fingerprint: object = None


@dataclass(frozen=True)
class Shown:
    """A screen as drawn: what the cache keeps, shared by every display that shows it in the same scope."""

    key: str
    title: str
    problem: bool
    fingerprint: str
    html: str


class Wall:
    """A display's screens, built on first use; shared queries (counts, freshness) are run once.

    Screens are drawn once per (screen, scope, data version) and kept in the cache for ETAG_TRUST
    seconds: fifty displays showing the overview cost one overview, not fifty.
    """

    def __init__(self, display: Display, now: datetime | None = None) -> None:
        self.display = display
        self.now = now or timezone.now()
        self.scope: Scope = scope_of(display.created_by)

    @cached_property
    def freshness(self) -> freshness.Freshness:
        return self.shared("freshness", lambda: freshness.freshness(freshness.EVERYTHING, self.now, rows=self.scope))

    def shared(self, name: str, build: Callable[[], object]) -> object:
        """`build()`, or what it gave for the same name, scope and data version in the last ETAG_TRUST seconds."""
        key = f"wall:{name}:{self.data_version}"
        found = cache.get(key)
        if found is None:
            found = build()
            cache.set(key, found, timeout=ETAG_TRUST)
        return found

    @cached_property
    def data_version(self) -> str:
        """The build, the scope and the data's version (the last sync run's end within the scope), as a digest."""
        scope = [sorted(ids) if ids is not None else "*" for ids in (self.scope.accounts, self.scope.projects)]
        return digest([build_id(), scope, self.stamp])

    @cached_property
    def stamp(self) -> list:
        """What moves whenever the data may have changed, in one small query: every sync run ends by
        writing its SyncScope row."""
        found = self.scope.filter(SyncScope.objects.all()).aggregate(
            finished=Max("last_finished_at"), complete=Max("ok_started_at"), scopes=Count("id")
        )
        return sorted(found.items())

    @cached_property
    def counts(self) -> overview.Counts:
        """The overview's precomputed counts (FleetCount), within scope: totals and per (resource, dimension)."""
        rows = (
            self.scope.filter(FleetCount.objects.filter(project__removed_at__isnull=True))
            .filter(dimension__in=["health", "state", "edge_api_state", "behind"])
            .values_list("resource", "dimension", "value")
            .annotate(n=Sum("count"))
            .order_by()
        )
        counts = overview.Counts()
        for resource, dimension, value, n in rows:
            values = counts.by_value[(resource, dimension)]
            values[value] = values.get(value, 0) + n
            if dimension == "health":  # every live row has exactly one health value
                counts.totals[resource] = counts.totals.get(resource, 0) + n
        return counts

    def count(self, resource: str, dimension: str, *values: str) -> int:
        found = self.counts.by_value.get((resource, dimension), {})
        return sum(found.get(value, 0) for value in values)

    @cached_property
    def saved_views(self) -> dict[int, SavedView]:
        """The display's saved views that its creator may still use (their own, or shared)."""
        ids = [int(key[5:]) for key in self.display.screens if key.startswith("view:") and key[5:].isdigit()]
        if not ids:
            return {}
        user = self.display.created_by
        views = SavedView.objects.filter(pk__in=ids).filter(Q(owner=user) | Q(shared=True))
        return {view.pk: view for view in views}

    @cached_property
    def screens(self) -> list[Shown]:
        return [self.shown(key) for key in self.display.screens]

    def shown(self, key: str) -> Shown:
        """The screen drawn, from the cache when another poll (of any display) drew it at this version."""
        if key.startswith("view:") and (not key[5:].isdigit() or int(key[5:]) not in self.saved_views):
            return self.draw(Screen(key, "Saved view gone", "wall/_missing.html", fingerprint="missing"))
        return self.shared(f"screen:{key}", lambda: self.draw(self.screen(key)))

    def draw(self, screen: Screen) -> Shown:
        html = render_to_string(screen.template, {"data": screen.data, "screen": screen})
        return Shown(screen.key, screen.title, screen.problem, digest(screen.fingerprint), html)

    def screen(self, key: str) -> Screen:
        builders = {
            "overview": self.overview,
            "unhealthy": self.unhealthy,
            "sites": self.sites,
            "timeline": self.timeline,
        }
        if key in builders:
            return builders[key]()
        view = self.saved_views.get(int(key[5:])) if key.startswith("view:") and key[5:].isdigit() else None
        if view is None:
            return Screen(key, "Saved view gone", "wall/_missing.html", fingerprint="missing")
        return self.saved_view(key, view)

    @cached_property
    def version(self) -> str:
        """The data's version and the display's own settings."""
        d = self.display
        return digest([self.data_version, d.name, d.screens, d.seconds_per_screen, d.theme, d.pause_on_problem])

    def remembered_etag(self) -> str | None:
        """The ETag computed for this display under the same version, in the last ETAG_TRUST seconds."""
        entry = cache.get(self.cache_key)
        return entry["etag"] if entry and entry["version"] == self.version else None

    def remember(self, etag: str) -> None:
        cache.set(self.cache_key, {"version": self.version, "etag": etag}, timeout=ETAG_TRUST)

    @property
    def cache_key(self) -> str:
        return f"wall:etag:{self.display.token_hash}"

    def etag(self) -> str:
        """A digest of everything the wall shows: the display's settings, the build, the data's freshness
        and every screen's fingerprint. Computed from the data, never from rendered HTML."""
        d = self.display
        fresh = self.freshness
        return digest(
            [
                build_id(),
                [d.name, d.screens, d.seconds_per_screen, d.theme, d.pause_on_problem],
                [fresh.as_of, fresh.problem_count, [(p.scope.pk, p.why) for p in fresh.problems]],
                [s.fingerprint for s in self.screens],
            ]
        )

    # -- built-in screens ---------------------------------------------------------------------------

    def overview(self) -> Screen:
        """The overview's headline tiles and the health of clusters and edge hosts (FleetCount, within scope)."""
        counts = self.counts
        problems = {
            "unhealthy_clusters": self.count("clusters", "health", Cluster.UNHEALTHY),
            "unhealthy_hosts": self.count("edgehosts", "health", EdgeHost.UNHEALTHY),
            "api_problems": self.count("edgehosts", "edge_api_state", *EdgeHost.API_PROBLEMS),
            "behind": self.count("clusters", "behind", "yes"),
            "sync_problems": self.freshness.problem_count,
        }
        health = {
            "clusters": overview.tiles(counts, "clusters", "health"),
            "edge hosts": overview.tiles(counts, "edgehosts", "health"),
        }
        data = {"totals": counts.totals, "health": health, **problems}
        bad = problems["unhealthy_clusters"] + problems["unhealthy_hosts"] + problems["api_problems"]
        fingerprint = [sorted((f"{r}/{d}", sorted(v.items())) for (r, d), v in counts.by_value.items()), problems]
        return Screen("overview", BUILT_IN["overview"], "wall/_overview.html", data, bool(bad), fingerprint)

    def unhealthy(self) -> Screen:
        """Unhealthy clusters and edge hosts, unhealthy longest first (as the overview lists them)."""
        clusters = list(
            self.scope.filter(Cluster.objects.filter(removed_at__isnull=True, health=Cluster.UNHEALTHY))
            .select_related("project")
            .only("uid", "name", "health_since", "heartbeat_at", "project__name")
            .order_by("health_since", "pk")[:ROWS]
        )
        hosts = list(
            self.scope.filter(EdgeHost.objects.filter(removed_at__isnull=True, health=EdgeHost.UNHEALTHY))
            .only("uid", "name", "site", "health_since", "health_message")
            .order_by("health_since", "pk")[:ROWS]
        )
        data = {
            "clusters": clusters,
            "hosts": hosts,
            "clusters_count": self.count("clusters", "health", Cluster.UNHEALTHY),
            "hosts_count": self.count("edgehosts", "health", EdgeHost.UNHEALTHY),
        }
        fingerprint = [
            [(c.pk, c.name, c.health_since, c.heartbeat_at, c.project.name if c.project else "") for c in clusters],
            [(h.pk, h.name, h.site, h.health_since, h.health_message) for h in hosts],
            data["clusters_count"],
            data["hosts_count"],
        ]
        problem = bool(clusters or hosts or data["clusters_count"] or data["hosts_count"])
        return Screen("unhealthy", BUILT_IN["unhealthy"], "wall/_unhealthy.html", data, problem, fingerprint)

    def sites(self) -> Screen:
        """The site roll-up's worst sites (SiteSummary, as the sync counted them)."""
        sites = [as_site(row) for row in self.scope.filter(site_rows())[:ROWS]]
        fingerprint = [(s.site, s.total, s.healthy, s.unhealthy, s.unknown, s.unreachable) for s in sites]
        problem = any(s.trouble for s in sites)
        return Screen("sites", BUILT_IN["sites"], "wall/_sites.html", {"sites": sites}, problem, fingerprint)

    def timeline(self) -> Screen:
        """The newest timeline entries."""
        entries = self.latest(TimelineEntry.objects.all())
        fingerprint = [e.pk for e in entries]
        return Screen("timeline", BUILT_IN["timeline"], "wall/_timeline.html", {"entries": entries}, False, fingerprint)

    def latest(self, entries: QuerySet) -> list[TimelineEntry]:
        entries = self.scope.filter(entries).select_related("project").defer("details", "project__raw")
        return list(entries.order_by("-occurred_at", "-id")[:ROWS])

    # -- saved views --------------------------------------------------------------------------------

    def saved_view(self, key: str, view: SavedView) -> Screen:
        """A saved view's first rows, through the list's own filter set and table (or the timeline's filters)."""
        request = HttpRequest()
        request.method = "GET"
        request.GET = QueryDict(view.query)
        request.user = self.display.created_by
        request.htmx = False
        if view.page == SavedView.Page.TIMELINE:
            entries = self.latest(build_filterset(request, []).qs)
            data = {"entries": entries, "view": view}
            return Screen(key, view.name, "wall/_timeline.html", data, False, [e.pk for e in entries])
        table = self.saved_table(LISTS[view.page], request)
        records = [row.record for row in table.paginated_rows]
        problem = any(getattr(r, "health", "") in UNHEALTHY or getattr(r, "edge_api_problem", False) for r in records)
        count = table.paginator.count
        data = {"table": table, "view": view, "count": count, "capped": table.paginator.capped}
        data["noun"] = NOUNS[view.page]
        fingerprint = [count, table.order_by, [record_values(r) for r in records]]
        return Screen(key, view.name, "wall/_saved_view.html", data, problem, fingerprint)

    def saved_table(self, list_class: type, request: HttpRequest) -> object:
        """The list's table over its filter set, within scope, sorted as saved, the first ROWS rows."""
        listing = list_class()
        listing.setup(request)
        listing.notes = []
        listing.params = listing.clean_params(request.GET)
        listing.params["per_page"] = str(ROWS)
        listing.params.pop("page", None)
        listing.counted_resource = ""  # count the scoped rows; the sync's totals are fleet-wide
        listing.filterset = listing.build_filterset()
        listing.object_list = self.scope.filter(listing.filterset.qs)
        kwargs = listing.get_table_kwargs()
        kwargs["exclude"] = [*kwargs["exclude"], *TV_HIDDEN]
        return listing.get_table(**kwargs)


def digest(values: object) -> str:
    return hashlib.sha256(json.dumps(values, default=str, sort_keys=True).encode()).hexdigest()[:32]


def record_values(record: object) -> object:
    """A row as plain values for the fingerprint: a model's loaded fields, or a grouped row as it is."""
    if isinstance(record, dict):
        return sorted(record.items())
    loaded = record.__dict__
    return [(f.attname, loaded[f.attname]) for f in record._meta.concrete_fields if f.attname in loaded]


def screen_choices(user: AbstractBaseUser) -> list[tuple[str, str]]:
    """What a display can show: the built-in screens, then the saved views `user` may use."""
    views = SavedView.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner").order_by("page", "name")
    saved = [(f"view:{v.pk}", f"Saved view: {v.get_page_display()} · {v.name}") for v in views]
    return [*BUILT_IN.items(), *saved]
