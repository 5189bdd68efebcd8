"""Sortable tables of the inventory lists (django-tables2). Cells show readable values; every state
has its icon and text beside its colour; unknown reads "unknown", never 0."""

import copy
from typing import NamedTuple
from urllib.parse import urlencode

import django_tables2 as tables
from django.utils.safestring import SafeString

from dashboard import labels, markup
from dashboard.labels import held
from dashboard.links import detail_url, list_url
from dashboard.models import Cluster, EdgeHost, ProfileUse
from dashboard.templatetags.fleet import badge, when


def by(column: str) -> tuple[str, str]:
    """A column's sort, then the name within each value: what the (column, name) index on live rows
    holds in that order, either way round (dashboard/models.py), so page 1 of 100,000 rows is read
    from the index and not sorted whole (`?sort=-state`: 225 ms -> a few)."""
    return (column, "name")


class Columns(dict):
    """A table class's columns, copied for each table (Table.__init__ deep-copies them, a few hundred
    objects a request): each column copied alone, its attributes shared. A table changes which of
    its columns show and a column's current cell, never what its class declared in it."""

    def __deepcopy__(self, memo: dict) -> dict:
        return {name: copy.copy(column) for name, column in self.items()}


class FleetTable(tables.Table):
    """Columns every synced inventory has; `DEFAULT` names those shown until the user picks."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.base_columns = Columns(cls.base_columns)

    DEFAULT: tuple[str, ...] = ()

    project = tables.Column(accessor="project__name", verbose_name="Project", default="—")
    account = tables.Column(accessor="account__name", verbose_name="Account")
    first_seen_at = tables.Column(verbose_name="First seen", empty_values=())
    modified_at = tables.Column(verbose_name="Last modified", empty_values=())
    removed_at = tables.Column(verbose_name="Removed", empty_values=())

    class Meta:
        template_name = "dashboard/table.html"
        attrs = {"class": "data"}
        orderable = True
        order_by = ("name",)  # the default order, marked on its header like any chosen sort
        empty_text = "Nothing matches these filters."

    @classmethod
    def attach(cls, records: list) -> None:
        """Read along, for a page's (or a CSV chunk's) rows, what its columns show from other tables."""

    @classmethod
    def optional(cls) -> list[tuple[str, str]]:
        """(column name, header) of every column the user may choose."""
        return [(name, str(column.verbose_name)) for name, column in cls.base_columns.items()]

    def value_first_seen_at(self, value: object) -> str:
        return iso(value)

    def value_modified_at(self, value: object) -> str:
        return iso(value)

    def value_removed_at(self, value: object) -> str:
        return iso(value)

    def value_state(self, value: str) -> str:
        return labels.readable(value)

    def value_health(self, value: str) -> str:
        return labels.readable(value)

    def render_first_seen_at(self, value: object) -> str:
        return when(value)

    def render_modified_at(self, value: object) -> str:
        return when(value)

    def render_removed_at(self, value: object) -> str:
        return when(value, empty="")


def iso(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else ""


def state_cell(value: str, since: object, first_seen: object = None) -> str:
    """A badge, and for a value that is not fine how long it has held."""
    if since is None or labels.tone(value) == "ok":
        return badge(value)
    return markup.html('{} <small class="since">for {}</small>', badge(value), held(since, first_seen))


class Use(NamedTuple):
    """One profile version a cluster runs, as the cluster list shows it (ProfileUse)."""

    name: str
    version: str
    latest_version: str
    behind: bool | None


def profile_use(use: Use) -> str:
    """A cluster's profile version as a list cell shows it; behind its latest: marked, with the latest
    as its title. Only the values are escaped (`markup.escape`): a page has hundreds of these."""
    name, version = markup.escape(use.name), markup.escape(use.version)
    if use.behind:
        latest = markup.escape(use.latest_version)
        return f'<span class="profile behind" title="latest {latest}">{name} {version} ↑</span>'
    return f'<span class="profile" title="">{name} {version}</span>'


class ClusterTable(FleetTable):
    """The cluster list (issue: pages, /clusters/)."""

    DEFAULT = ("name", "project", "cloud_type", "state", "health", "kubernetes_version", "profiles", "heartbeat_at")

    name = tables.Column(verbose_name="Name", attrs={"td": {"class": "name"}})
    cloud_type = tables.Column(verbose_name="Cloud", order_by=by("cloud_type"))
    state = tables.Column(verbose_name="State", order_by=by("state"), empty_values=())
    health = tables.Column(verbose_name="Health", order_by=("health", "health_since"), empty_values=())
    kubernetes_version = tables.Column(verbose_name="Kubernetes", order_by=by("kubernetes_version"), empty_values=())
    profiles = tables.Column(  # drawn from the prefetched ProfileUse rows, not the stored JSON
        verbose_name="Profiles", accessor="pk", orderable=False, empty_values=(), attrs={"td": {"class": "wrap"}}
    )
    node_count = tables.Column(verbose_name="Nodes", empty_values=())
    heartbeat_at = tables.Column(verbose_name="Heartbeat", order_by=by("heartbeat_at"), empty_values=())
    location = tables.Column(verbose_name="Location")
    agent_version = tables.Column(verbose_name="Agent")

    class Meta(FleetTable.Meta):
        model = Cluster
        fields = ()
        sequence = (
            "name",
            "account",
            "project",
            "cloud_type",
            "state",
            "health",
            "kubernetes_version",
            "profiles",
            "node_count",
            "heartbeat_at",
            "location",
            "agent_version",
            "...",
        )

    def render_name(self, record: Cluster) -> str:
        return markup.html('<a href="{}">{}</a>', detail_url("dashboard:cluster_detail", record.uid), record.name)

    def render_cloud_type(self, value: str) -> str:
        return labels.readable(value)

    def render_state(self, record: Cluster) -> str:
        return state_cell(record.state, record.state_since, record.first_seen_at)

    def render_health(self, record: Cluster) -> str:
        return state_cell(record.health, record.health_since, record.first_seen_at)

    def render_kubernetes_version(self, value: str) -> str:
        return value or "unknown"

    @classmethod
    def attach(cls, records: list[Cluster]) -> None:
        """Each cluster's profile versions as `record.uses`, by name: one query of plain rows for the
        page (a prefetch of ProfileUse objects cost a 50-row page 1.5-2.5 ms more)."""
        uses: dict[int, list[Use]] = {record.pk: [] for record in records}
        rows = ProfileUse.objects.filter(cluster_id__in=list(uses)).order_by("name", "pk")
        for cluster_id, *fields in rows.values_list("cluster_id", *Use._fields):
            uses[cluster_id].append(Use(*fields))
        for record in records:
            record.uses = uses[record.pk]

    def render_profiles(self, record: Cluster) -> str:
        uses = record.uses
        if not uses:
            return markup.html('<span class="muted">{}</span>', "none reported")
        return SafeString(" ".join(map(profile_use, uses)))

    def render_node_count(self, record: Cluster) -> str:
        if record.node_count is None:
            return "unknown"
        healthy = "unknown" if record.nodes_healthy is None else record.nodes_healthy
        return markup.html("{} <small class='muted'>({} healthy)</small>", record.node_count, healthy)

    def render_heartbeat_at(self, value: object) -> str:
        return when(value)

    def value_heartbeat_at(self, value: object) -> str:
        return iso(value)

    def value_profiles(self, record: Cluster) -> str:
        return "; ".join(f"{u.name} {u.version}" for u in record.uses)

    def value_node_count(self, value: object) -> str:
        return "" if value is None else str(value)


class EdgeHostTable(FleetTable):
    """The edge-host list: Palette's view and the host's own API side by side.

    Text columns keep `empty_values=()` so that an empty value reaches the render and value methods:
    the page says "unknown" (never a blank that reads as nothing wrong) and the CSV an empty cell.
    """

    DEFAULT = ("name", "project", "site", "state", "health", "edge_api_state", "cluster_name", "os", "host_address")
    STEADY_STATES = ("ready", "in-use")  # REFERENCE.md 10 `v1EdgeHostState`

    name = tables.Column(verbose_name="Name", attrs={"td": {"class": "name"}})
    site = tables.Column(verbose_name="Site", order_by=by("site"), empty_values=())
    state = tables.Column(verbose_name="State", order_by=by("state"), empty_values=())
    health = tables.Column(verbose_name="Health", order_by=("health", "health_since"), empty_values=())
    edge_api_state = tables.Column(
        verbose_name="Edge API", order_by=("edge_api_state", "edge_api_since"), empty_values=()
    )
    cluster_name = tables.Column(verbose_name="Cluster", order_by=by("cluster_name"), empty_values=())
    os = tables.Column(verbose_name="OS", order_by=by("os"), empty_values=())
    host_address = tables.Column(verbose_name="Address", empty_values=())
    mac_address = tables.Column(verbose_name="MAC", empty_values=())
    agent_version = tables.Column(verbose_name="Agent", empty_values=())
    arch = tables.Column(verbose_name="Arch", empty_values=())
    host_type = tables.Column(verbose_name="Host type", empty_values=())
    edge_api_checked_at = tables.Column(verbose_name="Last read", empty_values=())

    class Meta(FleetTable.Meta):
        model = EdgeHost
        fields = ()
        # What is wrong first: on a laptop the first columns are what shows without scrolling.
        sequence = (
            "name",
            "health",
            "edge_api_state",
            "state",
            "site",
            "cluster_name",
            "project",
            "account",
            "os",
            "host_address",
            "mac_address",
            "agent_version",
            "arch",
            "host_type",
            "edge_api_checked_at",
            "...",
        )

    def render_name(self, record: EdgeHost) -> str:
        url = detail_url("dashboard:edgehost_detail", record.uid)
        return markup.html('<a href="{}" title="{}"><bdi>{}</bdi></a>', url, record.name, record.name)

    @staticmethod
    def site_url(site: str) -> str:
        """The list of a site's hosts, or of the hosts without a site label (the site roll-up links here too)."""
        return list_url("dashboard:edgehost_list") + "?" + urlencode({"site": site} if site else {"no_site": "on"})

    def render_site(self, value: str) -> str:
        if not value:
            return markup.html('<span class="muted">{}</span>', "no site label")
        return markup.html('<a href="{}"><bdi>{}</bdi></a>', self.site_url(value), value)

    def render_state(self, record: EdgeHost) -> str:
        # How long a host has been paired or ready is not news; how long it has been unpaired is.
        return state_cell(record.state, None if record.state in self.STEADY_STATES else record.state_since)

    def render_health(self, record: EdgeHost) -> str:
        cell = state_cell(record.health, record.health_since)
        if record.health_message:
            return markup.html('<span title="{}">{}</span>', record.health_message, cell)
        return cell

    def render_edge_api_state(self, record: EdgeHost) -> str:
        cell = state_cell(record.edge_api_state, record.edge_api_since if record.edge_api_problem else None)
        if record.edge_api_error and record.edge_api_problem:
            return markup.html('<span title="{}">{}</span>', record.edge_api_error, cell)
        return cell

    def render_cluster_name(self, record: EdgeHost) -> str:
        if not record.cluster_uid:
            return markup.html('<span class="muted">{}</span>', "none")
        url = detail_url("dashboard:cluster_detail", record.cluster_uid)
        return markup.html('<a href="{}"><bdi>{}</bdi></a>', url, record.cluster_name or record.cluster_uid)

    def render_os(self, value: str) -> str:
        return known(value)

    def render_host_address(self, value: str) -> str:
        return known(value)

    def render_mac_address(self, value: str) -> str:
        return known(value)

    def render_agent_version(self, value: str) -> str:
        return known(value)

    def render_arch(self, value: str) -> str:
        return known(value)

    def render_host_type(self, value: str) -> str:
        return known(labels.readable(value) if value else "")

    def render_edge_api_checked_at(self, value: object) -> str:
        return when(value, empty="never")

    def value_name(self, record: EdgeHost) -> str:
        return record.name  # CSV: the name, not its link markup (whose escaping would show as &amp;)

    def value_site(self, value: str) -> str:
        return value  # CSV: the stored text; empty where Palette said nothing

    value_os = value_host_address = value_mac_address = value_agent_version = value_arch = value_site

    def value_cluster_name(self, record: EdgeHost) -> str:
        return record.cluster_name or record.cluster_uid

    def value_edge_api_state(self, record: EdgeHost) -> str:
        return labels.readable(record.edge_api_state)  # the stored state, not its long choice label

    def value_edge_api_checked_at(self, value: object) -> str:
        return iso(value)


def known(value: str) -> str:
    """A text cell, or a muted "unknown" where Palette said nothing."""
    return value or markup.html('<span class="muted">{}</span>', labels.UNKNOWN)


# -- Cluster profiles (issue: pages, /profiles/) ---------------------------------------------------

Key = tuple[int, int | None, str]  # (account id, owning project id or None, name): one profile
LIST_VERSIONS = 5  # versions a list row shows (the latest first, then those in use); its page has all


def record_key(record: dict) -> Key:
    """The profile a grouped row of the profile list stands for."""
    return (record["account_id"], record["project_id"], record["name"])


def adoption_bar(count: int, total: int, width: int = 80) -> str:
    """A server-drawn bar of `count` out of `total` (SVG attributes, no inline style: a strict CSP holds)."""
    width, filled = int(width), round(width * count / total) if total else 0  # numbers: nothing to escape
    return SafeString(
        f'<svg class="pv-bar" width="{width}" height="10" viewBox="0 0 {width} 10" aria-hidden="true" '
        f'focusable="false"><rect class="pv-track" width="{width}" height="10" rx="2"></rect>'
        f'<rect class="pv-fill" width="{filled}" height="10" rx="2"></rect></svg>'
    )


def clusters_link(name: str, **extra: str) -> str:
    """The cluster list filtered to the clusters that run profile `name` (and `extra` filters)."""
    return list_url("dashboard:cluster_list") + "?" + urlencode({"profile": name, **extra})


def muted(text: object) -> str:
    return markup.html('<span class="muted">{}</span>', text)


LATEST = muted("latest")


def version_item(version: object, total: int) -> str:
    """A profile version in a list row: the version (escaped), its adoption bar, its clusters, and
    whether it is the latest (a Version of dashboard/views/profiles.py). A page has hundreds."""
    tone = "pv-latest" if version.is_latest else "pv-behind" if version.behind else ""
    name = markup.escape(version.version or "unknown")
    bar, count = adoption_bar(version.clusters, total), int(version.clusters)
    latest = LATEST if version.is_latest else ""
    return f'<li class="{tone}"><span class="pv-v">{name}</span> {bar} <span class="pv-n">{count}</span>{latest}</li>'


class ProfileTable(FleetTable):
    """One row per profile: its versions and their adoption, latest, clusters behind, type, cloud, owner.

    Records are rows of the grouped query; `profiles` holds the versions the view loaded for the page.
    Sorting by clusters starts with the most.
    """

    DEFAULT = ("name", "versions", "clusters", "lagging", "latest", "profile_type", "cloud_type", "scope", "project")

    name = tables.Column(
        verbose_name="Name", order_by=("account_id", "name", "project_id"), attrs={"td": {"class": "name"}}
    )
    versions = tables.Column(verbose_name="Versions and clusters", orderable=False, empty_values=())
    clusters = tables.Column(accessor="in_use", verbose_name="Clusters", order_by=("-in_use", "name", "project_id"))
    lagging = tables.Column(
        accessor="lagging", verbose_name="Behind latest", order_by=("-lagging", "name", "project_id")
    )
    latest = tables.Column(verbose_name="Latest", orderable=False, empty_values=())
    profile_type = tables.Column(accessor="ptype", verbose_name="Type", orderable=False, empty_values=())
    cloud_type = tables.Column(accessor="cloud", verbose_name="Cloud", orderable=False, empty_values=())
    scope = tables.Column(accessor="pscope", verbose_name="Scope", orderable=False, empty_values=())
    project = tables.Column(verbose_name="Project", orderable=False, empty_values=())
    account = tables.Column(verbose_name="Account", orderable=False, empty_values=())
    first_seen_at = tables.Column(accessor="first_seen", verbose_name="First seen", empty_values=())
    modified_at = tables.Column(accessor="last_modified", verbose_name="Last modified", empty_values=())
    removed_at = tables.Column(accessor="removed", verbose_name="Removed", empty_values=())

    class Meta(FleetTable.Meta):
        fields = ()
        sequence = ("name", "versions", "clusters", "lagging", "latest", "profile_type", "cloud_type", "scope", "...")
        empty_text = "No profiles match these filters."

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.profiles: dict[Key, object] = {}  # Profile objects of dashboard/views/profiles.py

    def profile(self, record: dict) -> object:
        return self.profiles.get(record_key(record))

    def render_name(self, record: dict) -> str:
        profile = self.profile(record)
        n = record["n_versions"]
        return markup.html(
            '<a href="{}">{}</a> <small class="muted">{} version{}</small>',
            detail_url("dashboard:profile_detail", profile.link_uid if profile else record["uid"]),
            record["name"],
            n,
            "" if n == 1 else "s",
        )

    def render_versions(self, record: dict) -> str:
        profile = self.profile(record)
        if profile is None:
            return muted("unknown")
        shown = profile.list_versions(LIST_VERSIONS)
        total = profile.clusters
        items = "".join(version_item(v, total) for v in shown)
        hidden = len(profile.versions) - len(shown)
        more = f'<li class="muted">+ {hidden} more</li>' if hidden > 0 else ""
        return SafeString(f'<ul class="pv-versions">{items}{more}</ul>')  # numbers and escaped items

    def render_clusters(self, record: dict) -> str:
        profile = self.profile(record)
        return str(profile.clusters) if profile else muted("unknown")

    def render_lagging(self, record: dict) -> str:
        profile = self.profile(record)
        if profile is None or not profile.latest_version:
            return muted("unknown")
        if not profile.lagging:
            return muted(0)
        return markup.html(
            '<a class="badge tone-warn" href="{}"><span class="icon" aria-hidden="true">!</span>{} behind</a>',
            clusters_link(record["name"], behind="on"),
            profile.lagging,
        )

    def render_latest(self, value: str) -> str:
        return value or muted("unknown")

    def render_profile_type(self, value: str) -> str:
        return labels.readable(value)

    def render_cloud_type(self, value: str) -> str:
        return labels.readable(value)

    def render_scope(self, value: str) -> str:
        return labels.readable(value)

    def render_project(self, record: dict) -> str:
        profile = self.profile(record)
        return (profile.project_name if profile else "") or "—"

    def render_account(self, record: dict) -> str:
        profile = self.profile(record)
        return profile.account_name if profile else muted("unknown")
