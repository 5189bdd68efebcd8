"""Probing one batch of hosts through their own API: no database (a site worker has none)."""

from django.conf import settings

from palette_sync import edge
from palette_sync.sync.edge_api.credentials import unsealed


def probe_batch(payload: dict) -> dict:
    """Read one batch's hosts through their own API, without the database: the results to write
    (`write_results`) and what logging in cost (logins, renewals, sessions reused)."""
    edge.configure(settings.PALETTE_EDGE_SESSIONS, settings.PALETTE_EDGE_PROCESS_CONCURRENCY)
    accesses = {cid: unsealed(values) for cid, values in payload["credentials"].items()}
    rows, targets, start_at = [], [], {}
    for host_id, address, cid, *start in payload["hosts"]:
        if accesses.get(cid) is None:
            why = (
                "the edge password could not be unsealed here: this worker's PALETTE_SECRET_KEY is not the central one"
            )
            rows.append(result_row(host_id, edge.EdgeProbe(edge.EdgeApiState.ERROR, error=why)))
        else:
            targets.append((host_id, address, accesses[cid]))
            start_at[host_id] = start[0] if start else 0.0
    tally = edge.Tally()
    probes = edge.read_hosts(
        targets,
        concurrency=settings.PALETTE_EDGE_CONCURRENCY,
        timeout=settings.PALETTE_EDGE_TIMEOUT,
        tally=tally,
        start_at=start_at,
    )
    rows += [result_row(host_id, probe) for host_id, probe in probes.items()]
    return {"account": payload["account"], "run": payload["run"], "results": rows, "tally": dict(tally.counts)}


def result_row(host_id: int, probe: edge.EdgeProbe) -> list:
    """One probe as the writer takes it (JSON: it may travel through the broker)."""
    facts = None
    if probe.state == edge.EdgeApiState.REACHABLE:
        facts = {**probe.facts, "readAt": probe.checked_at.isoformat()}  # read_hosts kept only the summary
    return [host_id, probe.state, probe.error[:500], facts, probe.checked_at.isoformat()]
