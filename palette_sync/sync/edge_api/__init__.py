"""Each edge host's own API, merged into EdgeHost (REFERENCE.md 13; the client is palette_sync.edge).

Every host is read once per PALETTE_EDGE_INTERVAL, at its own offset within the interval (a hash of
its uid), so the readings of a large fleet spread evenly over the interval instead of coming in
bursts. Every PALETTE_EDGE_TICK the beat's tick (`plan`) claims the hosts due before the next tick
(`EdgeHost.edge_api_due_at`, a bounded number) and hands them out in batches, each sent for the
moment its first host is due: to the queue of the host's site where a worker runs inside that
site's network (PALETTE_EDGE_SITE_QUEUES), else to the central workers.

A batch carries all a worker needs (addresses, the credential with its password still sealed), and
probing it (`probe_batch`) never touches the database, so a site worker needs only the broker. The
results are written on a central worker (`write_results`) in short transactions that take only the
rows no one else holds (SKIP LOCKED): the Palette listing writing the same rows is never waited on
while a lock is held, so the two cannot deadlock.

A host that cannot be read is recorded with its state, since when, and why; its last facts stay,
dated. Changes of that state are transitions in the timeline, like health changes.

Modules: `cadence` (each host's moment in the interval), `credentials` (which credential reads
which host; sealed for the broker), `schedule` (the tick), `probe` (a batch, no database), `write`
(results, transitions, the tick's recount), `account` (the whole account now).
"""

from palette_sync.sync.edge_api import schedule
from palette_sync.sync.edge_api.account import sync_edge_api
from palette_sync.sync.edge_api.cadence import RESOURCE, lease, next_due, slot
from palette_sync.sync.edge_api.credentials import has_edge_credentials, sealed, unsealed
from palette_sync.sync.edge_api.probe import probe_batch, result_row
from palette_sync.sync.edge_api.schedule import Plan, plan
from palette_sync.sync.edge_api.write import Written, deliver, recount, write_results

__all__ = [
    "RESOURCE",
    "Plan",
    "Written",
    "deliver",
    "has_edge_credentials",
    "lease",
    "next_due",
    "plan",
    "probe_batch",
    "recount",
    "result_row",
    "schedule",
    "sealed",
    "slot",
    "sync_edge_api",
    "unsealed",
    "write_results",
]
