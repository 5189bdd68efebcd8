"""The whole account now, in this process (`sync_palette --once`, tests): the schedule's batches,
probes and writes, one chunk after another."""

from collections import Counter

from django.db.models.fields.json import KeyTextTransform

from dashboard.models import EdgeHost, PaletteAccount, SyncRun
from palette_sync import edge
from palette_sync.client import PaletteClient
from palette_sync.sync.edge_api.cadence import RESOURCE
from palette_sync.sync.edge_api.credentials import credentials_of, sealed
from palette_sync.sync.edge_api.probe import probe_batch, triage
from palette_sync.sync.edge_api.write import CHUNK, chunks, mark_recount, recount, write_results
from palette_sync.sync.runs import Recorder

RECOUNT_WAIT = 60.0  # seconds to wait for a tick's recount of the account to end (a few, usually)


def sync_edge_api(account: PaletteAccount, client: PaletteClient) -> SyncRun:
    """Read every live edge host of an account through its own API now, a chunk at a time.

    The same batches, probes and writes as the schedule's, in this process; each host's next
    scheduled reading then comes at its own offset in the interval.
    """
    with Recorder(account, RESOURCE, None, client) as recorder:
        credentials = credentials_of(account)
        by_id = {str(c.pk): c for c in credentials}
        hosts = (
            EdgeHost.objects.filter(account=account, removed_at__isnull=True)
            .annotate(labels=KeyTextTransform("labels", "raw__metadata"))
            .values("id", "host_address", "labels")
            .order_by("id")
        )
        states: Counter = Counter()
        sites: set = set()
        for chunk in chunks(hosts.iterator(chunk_size=CHUNK), CHUNK):
            recorder.checkpoint()
            rows, to_read = triage(chunk, credentials)
            targets = [[host["id"], host["host_address"], str(credential.pk)] for host, credential in to_read]
            if targets:
                used = {t[2] for t in targets}
                payload = {"account": account.pk, "run": recorder.run.pk, "hosts": targets}
                rows += probe_batch(payload | {"credentials": {c: sealed(by_id[c]) for c in used}})["results"]
            written = write_results(account.pk, recorder.run.pk, rows)
            states.update(written.states)
            sites |= written.sites
            recorder.count(items=len(chunk), transitions=written.transitions)
        mark_recount(account.pk, sites)  # recounted now, or by the next tick if one is recounting
        recount(account, wait=RECOUNT_WAIT)
        if set(states) - {edge.EdgeApiState.REACHABLE}:
            recorder.error("edge hosts: " + ", ".join(f"{n} {state}" for state, n in sorted(states.items())))
        return recorder.finish(SyncRun.Status.OK)  # unreachable hosts are data, not a failed sync
