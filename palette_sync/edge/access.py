"""What the client needs to reach a host (EdgeAccess), what a reading gives (EdgeProbe), and the
Edge Host API's paths (REFERENCE.md 13)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from dashboard.edge_states import EdgeApiState

EDGE_PORT = 5080  # Edge spec `servers`: https://<edge-host-ip>:5080
LOGIN = "/v1/users/default/login"
RENEWAL = "/v1/users/default/token/renewal"
# What the dashboard reads from each host; a 404 on the cluster endpoints means "no cluster yet".
READS = {
    "host": "/v1/edge-mgmt/edgehosts/current",
    "cluster": "/v1/edge-mgmt/cluster/details",
    "registry": "/v1/edge-mgmt/cluster/registry/health",
    "certificates": "/v1/edge-mgmt/cluster/certificates",
}


@dataclass(frozen=True)
class EdgeAccess:
    """How to log in to some edge hosts and which certificates to trust there."""

    username: str
    password: str = field(repr=False)
    ca_pem: str = field(default="", repr=False)  # PEM of the CA (or self-signed certs) to trust
    fingerprint: str = ""  # SHA-256 of the host's certificate, hex, colons allowed
    insecure: bool = False  # no verification at all: only when explicitly set
    scheme: str = "https"
    port: int = EDGE_PORT


@dataclass
class EdgeProbe:
    """The outcome of reading one host: a state, the facts read, and why not, if not."""

    state: str
    facts: dict = field(default_factory=dict)
    error: str = ""
    checked_at: datetime = field(default_factory=timezone.now)


class EdgeError(Exception):
    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state


class EdgeUnauthorized(EdgeError):
    """A read answered 401: the host no longer takes the session's token (restarted, logged out)."""

    def __init__(self, path: str) -> None:
        super().__init__(EdgeApiState.AUTH_FAILED, f"{path}: HTTP 401, the host refused the session's token")
