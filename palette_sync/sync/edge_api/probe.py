"""Probing one batch of hosts through their own API: no database (a site worker has none)."""

from collections.abc import Iterable

from django.conf import settings

from dashboard.models import EdgeCredential
from palette_sync import edge
from palette_sync.sync.edge_api.credentials import credential_for, labels_of, unsealed


def triage(
    hosts: Iterable[dict], credentials: list[EdgeCredential]
) -> tuple[list[list], list[tuple[dict, EdgeCredential]]]:
    """Hosts (with "id", "host_address" and "labels") split into the result rows of those that must
    not be contacted (no credential matches, no usable address), settled without a probe, and those
    to read, each with the most specific credential that matches it (`credentials` as
    `credentials_of` orders them)."""
    settled, to_read = [], []
    for host in hosts:
        credential = credential_for(labels_of(host), credentials)
        outcome = edge.unprobeable(host["host_address"], credential)
        if outcome is None:
            to_read.append((host, credential))
        else:
            settled.append(result_row(host["id"], outcome))
    return settled, to_read


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
