"""What the last attempt to read an edge host's own API found, in one place.

The edge client (palette_sync.edge) returns these states, `EdgeHost.edge_api_state` stores them and
the pages label them (dashboard.labels). No models here: a worker at a site imports this with only
the broker, before any app is loaded.
"""

from django.db import models


class EdgeApiState(models.TextChoices):
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable", "unreachable (no connection or no answer in time)"
    AUTH_FAILED = "auth_failed", "login refused"
    TLS_FAILED = "tls_failed", "certificate not trusted"
    NO_ACCESS = "no_access", "no edge credentials match"
    ERROR = "error", "answered outside the spec"
    BAD_ADDRESS = "bad_address", "address refused (not a host name or IP)"
    UNKNOWN = "unknown", "not checked yet"


# The host's own API could not be read: unlike "unknown" (not checked) or "no_access" (no credentials).
EDGE_API_PROBLEMS = (
    EdgeApiState.UNREACHABLE.value,
    EdgeApiState.AUTH_FAILED.value,
    EdgeApiState.TLS_FAILED.value,
    EdgeApiState.ERROR.value,
    EdgeApiState.BAD_ADDRESS.value,
)
