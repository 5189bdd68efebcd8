"""What /metrics exports, read from shared state at each scrape: the database and Redis.

Nothing is counted in the web or worker processes, so every gunicorn worker answers a scrape with
the same figures, whatever process served it, and nothing is lost when a process restarts:
- fleet gauges from FleetCount, the counts the sync keeps per (account, project) for the pages;
- sync counters and the duration histogram from the running totals (ops.models), which each
  closed SyncRun adds to in the transaction that closes it;
- data age per source from SyncScope (a row per scope);
- the rate budget from its Redis buckets (palette_sync.throttle);
- wall screens' last poll, when the wall app is installed.
"""

from collections import defaultdict
from collections.abc import Iterator

import redis
from django.apps import apps
from django.db.models import Min, Q
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from dashboard import freshness
from dashboard.models import FleetCount, PaletteAccount
from ops.models import DURATION_BUCKETS, INFINITE, RequestTally, SyncTally
from palette_sync.throttle import UNLISTED, Family, RedisThrottle, family_for, throttle_for

# FleetCount (resource, dimension) -> metric name and label.
FLEET = {
    ("clusters", "state"): ("palette_clusters", "state"),
    ("clusters", "health"): ("palette_clusters_by_health", "health"),
    ("clusters", "cloud_type"): ("palette_clusters_by_cloud_type", "cloud_type"),
    ("clusters", "behind"): ("palette_clusters_behind_profile", None),
    ("edgehosts", "state"): ("palette_edge_hosts", "state"),
    ("edgehosts", "health"): ("palette_edge_hosts_by_health", "health"),
    ("edgehosts", "edge_api_state"): ("palette_edge_hosts_by_edge_api_state", "edge_api_state"),
}
HELP = {
    "palette_clusters": "Live clusters per account, project and state (Palette's spec.state).",
    "palette_clusters_by_health": "Live clusters per account, project and health (empty: not reported).",
    "palette_clusters_by_cloud_type": "Live clusters per account, project and cloud type.",
    "palette_clusters_behind_profile": "Live clusters running a profile version older than its latest.",
    "palette_edge_hosts": "Live edge hosts per account, project and state.",
    "palette_edge_hosts_by_health": "Live edge hosts per account, project and health (empty: not reported).",
    "palette_edge_hosts_by_edge_api_state": "Live edge hosts per account, project and state of their own API.",
}


class FleetCollector(Collector):
    """Builds every family at scrape time (a handful of small queries; see the module docstring)."""

    def collect(self) -> Iterator[Metric]:
        accounts = {pk: (name, url) for pk, name, url in PaletteAccount.objects.values_list("pk", "name", "api_url")}
        names = {pk: name for pk, (name, _) in accounts.items()}
        requests = list(RequestTally.objects.values_list("account_id", "family", "requests").order_by("pk"))
        yield from fleet_gauges()
        yield from sync_counters(names, requests)
        yield from data_age()
        yield from rate_budget(accounts, requests)
        yield from wall_screens()


def fleet_gauges() -> Iterator[Metric]:
    families = {}
    for name, label in FLEET.values():
        labels = ["account", "project"] + ([label] if label else [])
        families[name] = GaugeMetricFamily(name, HELP[name], labels=labels)
    rows = FleetCount.objects.filter(Q(project__isnull=True) | Q(project__removed_at__isnull=True)).values_list(
        "account__name", "project__name", "resource", "dimension", "value", "count"
    )
    for account, project, resource, dimension, value, count in rows:
        if (resource, dimension) not in FLEET:
            continue  # e.g. edge sites: one series per store would be too many
        name, label = FLEET[(resource, dimension)]
        families[name].add_metric([account, project or ""] + ([value] if label else []), count)
    yield from families.values()


def sync_counters(accounts: dict[int, str], sent: list[tuple[int, str, int]]) -> Iterator[Metric]:
    runs = CounterMetricFamily(
        "palette_sync_runs",
        "Finished sync runs per account, source and outcome.",
        labels=["account", "source", "status"],
    )
    throttled = CounterMetricFamily(
        "palette_sync_throttled", "429 answers the sync received from Palette.", labels=["account", "source"]
    )
    durations = HistogramMetricFamily(
        "palette_sync_run_duration_seconds",
        "How long finished sync runs took, skipped ones excluded.",
        labels=["account", "source"],
    )
    by_key: dict[tuple, list] = defaultdict(list)
    counts: dict[tuple, int] = defaultdict(int)
    hits: dict[tuple, int] = defaultdict(int)
    for tally in SyncTally.objects.all():
        account = accounts.get(tally.account_id, str(tally.account_id))
        counts[(account, tally.resource, tally.status)] += tally.runs
        hits[(account, tally.resource)] += tally.throttled
        if tally.status != "skipped":
            by_key[(account, tally.resource)].append(tally)
    for labels, n in sorted(counts.items()):
        runs.add_metric(list(labels), n)
    for labels, n in sorted(hits.items()):
        throttled.add_metric(list(labels), n)
    for labels, tallies in sorted(by_key.items()):
        buckets, total = histogram(tallies)
        durations.add_metric(list(labels), buckets, total)
    requests = CounterMetricFamily(
        "palette_sync_requests",
        "Requests sent to Palette per account and rate-limit family (retries and logins included).",
        labels=["account", "family"],
    )
    for account_id, family, n in sent:
        requests.add_metric([accounts.get(account_id, str(account_id)), family], n)
    yield from (runs, throttled, durations, requests)


def histogram(tallies: list[SyncTally]) -> tuple[list[tuple[str, float]], float]:
    """Cumulative buckets and the sum of durations, from per-bucket tallies."""
    per_bound = defaultdict(int)
    for tally in tallies:
        per_bound[tally.le] += tally.runs
    buckets, running = [], 0
    for bound in DURATION_BUCKETS:
        running += per_bound[bound]
        buckets.append((str(float(bound)), running))
    buckets.append(("+Inf", running + per_bound[INFINITE]))
    return buckets, sum(t.seconds for t in tallies)


def data_age() -> Iterator[Metric]:
    """Seconds since the oldest last complete listing of each (account, source), over its live scopes."""
    age = GaugeMetricFamily(
        "palette_sync_data_age_seconds",
        "Age of the oldest last complete listing of a source, over its scopes (as the pages' freshness).",
        labels=["account", "source"],
    )
    never = GaugeMetricFamily(
        "palette_sync_scopes_never_complete",
        "Scopes of a source without a complete listing yet.",
        labels=["account", "source"],
    )
    now = timezone.now()
    rows = (
        freshness.live_scopes(freshness.EVERYTHING)
        .values("account__name", "resource")
        .annotate(oldest=Min("ok_started_at"))
        .order_by("account__name", "resource")
    )
    for row in rows:
        if row["oldest"] is not None:
            age.add_metric([row["account__name"], row["resource"]], (now - row["oldest"]).total_seconds())
    missing = (
        freshness.live_scopes(freshness.EVERYTHING)
        .filter(ok_started_at__isnull=True)
        .values_list("account__name", "resource")
    )
    for labels, n in count(missing).items():
        never.add_metric(list(labels), n)
    yield from (age, never)


def count(rows: object) -> dict[tuple, int]:
    counted: dict[tuple, int] = defaultdict(int)
    for row in rows:
        counted[tuple(row)] += 1
    return counted


def rate_budget(accounts: dict[int, tuple[str, str]], sent: list[tuple[int, str, int]]) -> Iterator[Metric]:
    """Each Redis bucket the sync spends (a family an account has sent requests to): its state now."""
    share = GaugeMetricFamily(
        "palette_rate_budget_rate_ratio",
        "Share of the published rate a family is paced at (below 1 after a 429 cut it).",
        labels=["account", "family"],
    )
    used = GaugeMetricFamily(
        "palette_rate_budget_burst_used_ratio",
        "Share of a family's burst already spoken for (1: requests wait for their slot).",
        labels=["account", "family"],
    )
    limit = GaugeMetricFamily(
        "palette_rate_limit_requests_per_second", "Palette's published rate of a family.", labels=["family"]
    )
    families = {}
    for account_id, name, _ in sent:
        family = families.setdefault(name, UNLISTED if name == UNLISTED.name else family_for(name))
        account, api_url = accounts[account_id]
        throttle = throttle_for(PaletteAccount(api_url=api_url).rate_key())
        if not isinstance(throttle, RedisThrottle):
            continue  # an in-process bucket: nothing shared to read
        try:
            pace_share, spoken_for = bucket_state(throttle, family)
        except redis.RedisError:
            continue
        share.add_metric([account, name], pace_share)
        used.add_metric([account, name], spoken_for)
    for name, family in sorted(families.items()):
        limit.add_metric([name], family.rate)
    yield from (share, used, limit)


def bucket_state(throttle: RedisThrottle, family: Family) -> tuple[float, float]:
    """(share of the published rate, share of the burst spoken for) of one bucket now.

    The bucket keeps `tat`, the time of its next free slot (palette_sync.throttle): how far that
    lies ahead of now, over the burst's span, is the share of the burst already reserved.
    """
    paused, factor = throttle.state(family)
    tat = throttle.redis.hget(throttle.key(family), "tat")
    if paused > 0:
        return factor, 1.0
    if not tat:
        return factor, 0.0
    seconds, micros = throttle.redis.time()
    ahead = int(tat) / 1_000_000 - (seconds + micros / 1_000_000)
    pace = throttle.pace(family)
    span = pace.tolerance + pace.interval / max(factor, 1e-6)
    return factor, min(1.0, max(0.0, ahead / span))


def wall_screens() -> Iterator[Metric]:
    """When each wall screen (not revoked) last polled, when the wall app is installed."""
    try:
        display = apps.get_model("wall", "Display")
    except LookupError:
        return
    seen = GaugeMetricFamily(
        "palette_wall_screen_last_seen_timestamp_seconds",
        "When a wall screen last polled its page (Unix time).",
        labels=["id", "screen"],
    )
    rows = display.objects.filter(revoked_at__isnull=True, last_seen_at__isnull=False)
    for pk, name, last_seen in rows.values_list("pk", "name", "last_seen_at"):
        seen.add_metric([str(pk), name], last_seen.timestamp())
    yield seen
