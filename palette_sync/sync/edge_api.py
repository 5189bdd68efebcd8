"""Each edge host's own API, merged into EdgeHost (REFERENCE.md 13; the client is palette_sync.edge).

Runs per (account, project) when the account has edge credentials. A host that cannot be read is
recorded with its state, since when, and why; its last facts stay, dated. Changes of that state
are transitions in the timeline, like health changes.
"""

import json
from collections import Counter
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import transaction
from django.db.models.fields.json import KeyTextTransform

from dashboard.models import EdgeCredential, EdgeHost, PaletteAccount, Project, SyncRun, TimelineEntry
from palette_sync import edge
from palette_sync.client import PaletteClient
from palette_sync.sync.listing import BATCH, Source, transition
from palette_sync.sync.runs import Recorder

EDGE_API = Source("edge_api", EdgeHost, "edgehost", mapper=dict)
CHUNK = 500  # hosts probed, then written, at a time
TROUBLE = set(EdgeHost.API_PROBLEMS)
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
    """Read every live edge host of a project through its own API, a chunk at a time.

    Each chunk of hosts is probed (a bounded number at once) and written in its own short
    transaction, so memory stays bounded and a crash loses one chunk's work, not the project's.
    Only the Edge Host API's columns are written, so the Palette listing of the same rows never
    waits on this pass for long.
    """
    with Recorder(account, "edge_api", project, client) as recorder:
        credentials = sorted(EdgeCredential.objects.filter(account=account), key=lambda c: -c.specificity)
        hosts = (
            EdgeHost.objects.filter(account=account, project=project, removed_at__isnull=True)
            .only("id", "uid", "name", "host_address", "project_id", *FIELDS)
            .annotate(labels=KeyTextTransform("labels", "raw__metadata"))
            .order_by("id")
        )
        tally: Counter = Counter()
        for chunk in chunks(hosts.iterator(chunk_size=CHUNK), CHUNK):
            recorder.checkpoint()
            tally.update(probe_chunk(recorder, chunk, credentials))
        if set(tally) - {edge.EdgeState.REACHABLE}:
            recorder.error("edge hosts: " + ", ".join(f"{n} {state}" for state, n in sorted(tally.items())))
        return recorder.finish(SyncRun.Status.OK)  # unreachable hosts are data, not a failed sync


def chunks(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def probe_chunk(recorder: Recorder, hosts: list[EdgeHost], credentials: list[EdgeCredential]) -> Counter:
    """Probe one chunk of hosts and write what they said, with the transitions, in one transaction."""
    targets = [(h.uid, h.host_address, access_for(labels_of(h), credentials)) for h in hosts]
    probes = edge.read_hosts(
        targets, concurrency=settings.PALETTE_EDGE_CONCURRENCY, timeout=settings.PALETTE_EDGE_TIMEOUT
    )
    entries = [entry for host in hosts for entry in merge(recorder, host, probes[host.uid])]
    with transaction.atomic():
        EdgeHost.objects.bulk_update(hosts, FIELDS, batch_size=BATCH)
        TimelineEntry.objects.bulk_create(entries, batch_size=BATCH, ignore_conflicts=True)
    recorder.count(items=len(hosts), transitions=len(entries))
    return Counter(probe.state for probe in probes.values())


def labels_of(host: EdgeHost) -> dict:
    """The host's Palette labels (`metadata.labels`), read as JSON text by the query."""
    labels = host.labels
    if isinstance(labels, str):
        try:
            labels = json.loads(labels)
        except ValueError:
            return {}
    return labels if isinstance(labels, dict) else {}


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
