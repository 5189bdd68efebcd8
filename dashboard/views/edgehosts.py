"""The edge-host list, an edge host's page, and the site roll-up (issue: pages, /edge-hosts/).

Palette's view of a host and what its own Edge Host API said (REFERENCE.md 10, 13) side by side.
The roll-up pages over the sites the sync counted (SiteSummary), worst first, never a GROUP BY
over the hosts, so it costs the same at 200,000 hosts as at 50.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.paginator import Paginator
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard import freshness
from dashboard.access import Scope, scope_of
from dashboard.filters import EdgeHostFilter
from dashboard.lists import Counted, FleetList
from dashboard.models import EdgeHost, SavedView, SiteSummary, TimelineEntry
from dashboard.tables import EdgeHostTable
from dashboard.views.common import get_synced_or_404

TIMELINE_ROWS = 50
SITES_PER_PAGE = 50
NO_SITE = "(no site label)"
SUMMED = {
    "total": "hosts",
    "healthy": "healthy",
    "unhealthy": "unhealthy",
    "unknown": "unknown",
    "unreachable": "unreadable",
}  # Site field -> SiteSummary column


class EdgeHostList(FleetList):
    """Edge hosts: filter by account, project, state, health, edge API state, site, ages; sort; page."""

    template_name = "dashboard/edgehost_list.html"
    filterset_class = EdgeHostFilter
    table_class = EdgeHostTable
    saved_page = SavedView.Page.EDGE_HOSTS
    resources = freshness.EDGE_HOSTS
    title = "Edge hosts"
    counted_resource = "edgehosts"

    def get_queryset(self) -> QuerySet:
        # No column shows the JSON documents: a page of 200 hosts need not read them.
        return super().get_queryset().defer("raw", "edge_facts")


edgehost_list = EdgeHostList.as_view()


# -- one host ------------------------------------------------------------------------------------


@require_GET
def edgehost_detail(request: HttpRequest, uid: str) -> HttpResponse:
    """One edge host: summary, Palette's facts, its own API's facts, timeline, raw JSON."""
    rows = scope_of(request.user)
    host = get_synced_or_404(rows.filter(EdgeHost.objects.select_related("project", "account")), uid)
    timeline = list(
        rows.filter(TimelineEntry.objects.filter(account=host.account, subject_uid=host.uid)).order_by(
            "-occurred_at", "-id"
        )[:TIMELINE_ROWS]
    )
    raw = host.raw if isinstance(host.raw, dict) else {}
    facts = host.edge_facts if isinstance(host.edge_facts, dict) else {}
    context = {
        "host": host,
        "labels": host_labels(raw),
        "site_url": EdgeHostTable.site_url(host.site),
        "device": fact_groups(device_facts(raw), DEVICE_GROUPS),
        "edge_groups": fact_groups(facts, EDGE_GROUPS),
        "edge_read_at": moment(facts.get("readAt")),
        "timeline": timeline,
        "timeline_limit": TIMELINE_ROWS,
        "freshness": freshness.banner(freshness.EDGE_HOSTS, rows=rows),
    }
    return render(request, "dashboard/edgehost_detail.html", context)


def host_labels(raw: dict) -> list[tuple[str, str]]:
    """Palette's labels of the host (`metadata.labels`), sorted by key."""
    meta = raw.get("metadata")
    found = meta.get("labels") if isinstance(meta, dict) else None
    if not isinstance(found, dict):
        return []
    return sorted((str(k), describe(v)) for k, v in found.items())


def device_facts(raw: dict) -> dict:
    """The hardware Palette reports for the host (`spec.device`, REFERENCE.md 10)."""
    spec = raw.get("spec")
    device = spec.get("device") if isinstance(spec, dict) else None
    return device if isinstance(device, dict) else {}


def moment(value: object) -> datetime | None:
    try:
        return parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None


# -- facts as readable rows and tables -----------------------------------------------------------

# Groups of known keys, in reading order; any other key lands in "Other" (the sync may store more).
EDGE_GROUPS = (
    ("Host", ("hostName", "os", "arch", "agentVersion", "nodeRole", "managementMode", "connectionMode")),
    ("Configuration", ("configurationStatus",)),
    ("Hardware", ("cpuCores", "memoryMB", "cpu", "memory", "disks", "gpus")),
    ("Network", ("nics", "networkInfo")),
    ("Local cluster", ("clusterState", "clusterHealth", "kubernetesVersion")),
    ("Registry", ("registryState", "registryUsagePercent")),
    ("Certificates", ("certificatesNeedRenewal", "certificatesEarliestExpiry")),
)
DEVICE_GROUPS = (
    ("System", ("secureBoot", "os")),  # architecture, host type and state are Palette's fields above
    ("Hardware", ("cpu", "memory", "disks", "gpus")),
    ("Network", ("nics",)),
)
SKIPPED = {"readAt", "archType", "hostType", "hostState"}  # shown elsewhere on the page
STATES = {"clusterState", "clusterHealth", "registryState", "configurationStatus"}  # shown as badges
LABELS = {
    "hostName": "Host name",
    "os": "OS",
    "arch": "Architecture",
    "archType": "Architecture",
    "agentVersion": "Agent version",
    "nodeRole": "Node role",
    "cpuCores": "CPU cores",
    "cpu": "CPU",
    "memoryMB": "Memory",
    "sizeInMB": "Size",
    "gpus": "GPUs",
    "nics": "NICs",
    "nicName": "NIC",
    "ip": "IP",
    "macAddr": "MAC",
    "dns": "DNS",
    "isDefault": "Default",
    "kubernetesVersion": "Kubernetes version",
    "registryUsagePercent": "Registry usage",
    "certificatesNeedRenewal": "Certificates need renewal",
    "certificatesEarliestExpiry": "Earliest certificate expiry",
    "size": "Size (GB)",
    "gpuCount": "Count",
    "migCapable": "MIG capable",
    "migStrategy": "MIG strategy",
}
MAX_ROWS = 50  # of any one table: a host does not have more disks or NICs than this
MAX_DEPTH = 3
MAX_TEXT = 500


@dataclass
class FactTable:
    """A list of objects (disks, GPUs, NICs) as a table."""

    label: str
    headers: list[str]
    rows: list[list[str]]
    more: int = 0


@dataclass
class FactGroup:
    """Facts under one heading: (label, text, is a state) rows and tables."""

    title: str
    rows: list[tuple[str, str, bool]] = field(default_factory=list)
    tables: list[FactTable] = field(default_factory=list)


def fact_groups(facts: dict, groups: tuple[tuple[str, tuple[str, ...]], ...]) -> list[FactGroup]:
    """The facts as readable groups: known keys under their heading, anything else under "Other"."""
    known = {key for _, keys in groups for key in keys}
    layout = [*groups, ("Other", tuple(k for k in facts if k not in known and k not in SKIPPED))]
    out = []
    for title, keys in layout:
        group = FactGroup(title)
        for key in keys:
            if key in facts:
                add_fact(group, key, facts[key])
        if group.rows or group.tables:
            out.append(group)
    return out


def add_fact(group: FactGroup, key: str, value: object) -> None:
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        group.tables.append(fact_table(label(key), value))
    elif isinstance(value, dict) and value and not any(isinstance(v, dict | list) for v in value.values()):
        for name, inner in value.items():  # cpu {cores}, memory {sizeInMB}, os {family, version}
            group.rows.append((f"{label(key)} {label(name).lower()}", fact_text(name, inner), False))
    else:
        group.rows.append((label(key), fact_text(key, value), key in STATES))


def fact_table(title: str, items: list[dict]) -> FactTable:
    keys: list[str] = []
    for item in items[:MAX_ROWS]:
        keys += [k for k in item if k not in keys]
    rows = [[fact_text(k, item.get(k)) for k in keys] for item in items[:MAX_ROWS]]
    return FactTable(title, [label(k) for k in keys], rows, more=max(0, len(items) - MAX_ROWS))


def fact_text(key: str, value: object) -> str:
    """One fact as text: units where the key says them, dates in local time."""
    if key in ("memoryMB", "sizeInMB") and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value / 1024:,.1f} GiB ({value:,} MB)"
    if key.endswith("Percent") and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g} %"
    if key.endswith(("Expiry", "Date", "Time", "At")) and (when := moment(value)):
        when = when if timezone.is_aware(when) else timezone.make_aware(when, UTC)
        return timezone.localtime(when).strftime("%Y-%m-%d %H:%M %Z")
    return describe(value)


def describe(value: object, depth: int = 0) -> str:
    """Any JSON value as short readable text; nothing reported reads "not reported", never blank or 0."""
    if value is None or value == "" or value == [] or value == {}:
        return "not reported"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}"
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, list):
        text = "; ".join(describe(v, depth + 1) for v in value[:MAX_ROWS])
    elif isinstance(value, dict):
        text = ", ".join(f"{label(str(k))}: {describe(v, depth + 1)}" for k, v in list(value.items())[:MAX_ROWS])
    else:
        text = str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def label(key: str) -> str:
    """A JSON key as a heading: `registryState` -> "Registry state"."""
    if key in LABELS:
        return LABELS[key]
    words, word = [], ""
    for char in key:
        if char.isupper() and word and not word[-1].isupper():
            words.append(word)
            word = ""
        word += char
    words.append(word)
    text = " ".join(w if w.isupper() else w.lower() for w in words if w).replace("_", " ")
    return text[:1].upper() + text[1:]


# -- the site roll-up ----------------------------------------------------------------------------


@dataclass
class Site:
    """One site's hosts by health and by whether their own API could be read."""

    site: str
    total: int = 0
    healthy: int = 0
    unhealthy: int = 0
    unknown: int = 0
    unreachable: int = 0

    @property
    def name(self) -> str:
        return self.site or NO_SITE

    @property
    def trouble(self) -> int:
        return self.unhealthy + self.unreachable

    @property
    def url(self) -> str:
        return EdgeHostTable.site_url(self.site)

    @property
    def bar(self) -> list[tuple[str, float, float]]:
        """(tone, x, width) of the health segments of a 100-wide bar, in order, without gaps."""
        segments, x = [], 0.0
        for tone, n in (("ok", self.healthy), ("bad", self.unhealthy), ("unknown", self.unknown)):
            if n:
                width = round(100 * n / self.total, 2)
                segments.append((tone, x, width))
                x = round(x + width, 2)
        return segments

    @property
    def unreachable_width(self) -> float:
        return round(100 * self.unreachable / self.total, 2) if self.total else 0.0


def site_rows(query: str = "") -> QuerySet:
    """The sites the sync counted (SiteSummary), worst first: most unhealthy + unreadable hosts."""
    rows = SiteSummary.objects.filter(project__removed_at__isnull=True).order_by(
        "-trouble", "-unhealthy", "-hosts", "site", "id"
    )
    return rows.filter(site__icontains=query) if query else rows


def as_site(row: SiteSummary) -> Site:
    return Site(row.site, row.hosts, row.healthy, row.unhealthy, row.unknown, row.unreadable)


def site_rollup(query: str = "") -> list[Site]:
    """Every site's counts, worst first (for the tests and small fleets: the page reads a page at a time)."""
    return [as_site(row) for row in site_rows(query)]


def site_totals(rows: Scope) -> dict[str, int]:
    """The sites and their hosts in every state, summed over the sync's per-site counts (SiteSummary).
    Read as the lists' totals are (`kept`): a sum over every site is worth reading once in a few seconds."""
    return rows.filter(SiteSummary.objects.filter(project__removed_at__isnull=True)).aggregate(
        sites=Count("id"),
        **{name: Coalesce(Sum(column), 0) for name, column in SUMMED.items()},
    )


@require_GET
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def site_list(request: HttpRequest) -> HttpResponse:
    """Edge hosts per site: total, healthy, unhealthy, health unknown, edge API unreachable; worst first."""
    notes: list[str] = []
    rows = scope_of(request.user)
    query = request.GET.get("q", "")
    if len(query) > 200 or "\x00" in query:
        notes.append("That search is too long or holds a NUL character: ignored.")
        query = ""
    totals = dict(freshness.kept(("sites", rows), lambda: site_totals(rows)))  # a copy: the kept one stays whole
    sites_count = totals.pop("sites")
    everywhere = Site("", **totals)
    number = request.GET.get("page", "1")
    listed = rows.filter(site_rows(query))
    # Unsearched, the list is every site the totals counted: no second count over every site.
    paginator = Paginator(listed, SITES_PER_PAGE) if query else Counted(listed, SITES_PER_PAGE, total=sites_count)
    if not number.isdigit() or not 1 <= int(number) <= paginator.num_pages:
        notes.append(f"“{number[:40]}” is not a page of this list: showing the first.")
        number = "1"
    page = paginator.page(int(number))
    page.object_list = [as_site(row) for row in page.object_list]
    htmx = request.htmx
    partial = htmx and not htmx.history_restore_request and not htmx.boosted
    context = {
        "page": page,
        "paginator": paginator,
        "query": query,
        "sites_count": sites_count,
        "everywhere": everywhere,
        "notes": notes,
        "freshness": freshness.banner(freshness.EDGE_HOSTS, rows=rows),
    }
    return render(request, "dashboard/site_list.html" + ("#sites" if partial else ""), context)
