"""Each edge host's own API, merged into EdgeHost (REFERENCE.md 13; the client is palette_sync.edge).

Runs per (account, project) when the account has edge credentials. A host that cannot be read is
recorded with its state, since when, and why; its last facts stay, dated. Changes of that state
are transitions in the timeline, like health changes.
"""

from collections import Counter

from django.conf import settings
from django.db import transaction

from dashboard.models import EdgeCredential, EdgeHost, PaletteAccount, Project, SyncRun, TimelineEntry
from palette_sync import edge
from palette_sync.client import PaletteClient
from palette_sync.sync.listing import BATCH, Source, transition
from palette_sync.sync.runs import Recorder

EDGE_API = Source("edge_api", EdgeHost, "edgehost", mapper=dict)
TROUBLE = {"unreachable", "auth_failed", "tls_failed", "error"}
FIELDS = ["edge_api_state", "edge_api_since", "edge_api_checked_at", "edge_api_error", "edge_facts"]


def has_edge_credentials(account: PaletteAccount) -> bool:
    return EdgeCredential.objects.filter(account=account).exists()


def access_for(labels: dict, credentials: list[EdgeCredential]) -> edge.EdgeAccess | None:
    """The most specific credential whose selector matches the host's labels, as client settings."""
    for credential in credentials:  # most specific first
        if credential.matches(labels if isinstance(labels, dict) else {}):
            return edge.EdgeAccess(
                username=credential.username,
                password=credential.password(),
                ca_pem=credential.ca_pem,
                fingerprint=credential.fingerprint,
                insecure=credential.insecure,
                scheme=credential.scheme,
                port=credential.port,
            )
    return None


def sync_edge_api(account: PaletteAccount, client: PaletteClient, project: Project) -> SyncRun:
    """Read every live edge host of a project through its own API, a bounded number at a time."""
    recorder = Recorder(account, "edge_api", project, client)
    credentials = sorted(EdgeCredential.objects.filter(account=account), key=lambda c: -c.specificity)
    hosts = list(
        EdgeHost.objects.filter(account=account, project=project, removed_at__isnull=True).only(
            "id", "uid", "name", "host_address", "raw", "project_id", *FIELDS
        )
    )
    targets = [
        (h.uid, h.host_address, access_for((h.raw.get("metadata") or {}).get("labels") or {}, credentials))
        for h in hosts
    ]
    probes = edge.read_hosts(
        targets, concurrency=settings.PALETTE_EDGE_CONCURRENCY, timeout=settings.PALETTE_EDGE_TIMEOUT
    )
    entries = [entry for host in hosts for entry in merge(recorder, host, probes[host.uid])]
    with transaction.atomic():
        EdgeHost.objects.bulk_update(hosts, FIELDS, batch_size=BATCH)
        TimelineEntry.objects.bulk_create(entries, batch_size=BATCH, ignore_conflicts=True)
    recorder.count(items=len(hosts), transitions=len(entries))
    tally = Counter(probe.state for probe in probes.values())
    if set(tally) - {edge.EdgeState.REACHABLE}:
        recorder.error("edge hosts: " + ", ".join(f"{n} {state}" for state, n in sorted(tally.items())))
    return recorder.finish(SyncRun.Status.OK)  # unreachable hosts are data, not a failed sync


def merge(recorder: Recorder, host: EdgeHost, probe: edge.EdgeProbe) -> list[TimelineEntry]:
    """Apply one probe to its host; return the transition it reveals, if any."""
    before = host.edge_api_state
    host.edge_api_checked_at = probe.checked_at
    host.edge_api_error = probe.error[:500]
    if probe.state == edge.EdgeState.REACHABLE:
        host.edge_facts = {**edge.summary(probe.facts), "readAt": probe.checked_at.isoformat()}
    if before == probe.state:
        return []
    host.edge_api_state = probe.state
    host.edge_api_since = probe.checked_at
    if before == EdgeHost.EdgeApiState.UNKNOWN:
        return []  # the first reading is where history starts
    values = {"uid": host.uid, "name": host.name, "project_id": host.project_id}
    entry = transition(recorder, EDGE_API, values, "edge_api_state", before, probe.state)
    entry.severity = "warning" if probe.state in TROUBLE else "info"
    entry.kind = TimelineEntry.Kind.EDGE  # what the host's own API said, apart from Palette's view
    entry.source_id = entry.source_id.replace("edge_api:", "edge:", 1)
    return [entry]
