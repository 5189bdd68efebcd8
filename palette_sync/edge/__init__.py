"""Each edge host's own Edge Host API ("Local Management APIs", REFERENCE.md 13), read-only.

The sync asks every edge host it knows from Palette for the facts only the host has (agent,
hardware, local cluster, registry and certificate health) and merges them into `EdgeHost`.
An unreachable host is a recorded state with its age, never a failed sync.

Trust is explicit: a CA bundle (the host's certificate must chain to it and name its address),
a pinned SHA-256 fingerprint of the host's certificate, or — only when set — no verification.

Nothing here touches the database: a worker at a site (README "Edge hosts' own API") runs it with
only the broker (Redis). Logged-in sessions are kept per host for every worker process (`SESSIONS`:
sealed in Redis, with a bounded copy in each process) and reused until their token expires, then
renewed with the refresh token; a password is sent again only when the host no longer takes the
session (REFERENCE.md 13: tokens live 2 h).

Modules: `access` (what reaches a host, what a reading gives), `sessions` (kept per host, shared),
`trust` (certificates and SSL contexts), `client` (one host), `hosts` (many at once, bounded per
process), `facts` (what the dashboard keeps).
"""

from dashboard.edge_states import EdgeApiState
from palette_sync.edge.access import EDGE_PORT, EdgeAccess, EdgeError, EdgeProbe, EdgeUnauthorized
from palette_sync.edge.client import read_host
from palette_sync.edge.facts import summary
from palette_sync.edge.hosts import SLOTS, Slots, address_problem, configure, read_hosts, unprobeable
from palette_sync.edge.sessions import SESSIONS, Lru, Session, SharedSessions, Tally, session_key, token_expiry
from palette_sync.edge.trust import CONTEXTS, PINNED, peer_fingerprint, tls_verify

__all__ = [
    "CONTEXTS",
    "EDGE_PORT",
    "PINNED",
    "SESSIONS",
    "SLOTS",
    "EdgeAccess",
    "EdgeApiState",
    "EdgeError",
    "EdgeProbe",
    "EdgeUnauthorized",
    "Lru",
    "Session",
    "SharedSessions",
    "Slots",
    "Tally",
    "address_problem",
    "configure",
    "peer_fingerprint",
    "read_host",
    "read_hosts",
    "session_key",
    "summary",
    "tls_verify",
    "token_expiry",
    "unprobeable",
]
