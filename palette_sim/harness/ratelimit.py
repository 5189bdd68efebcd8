"""Palette's published rate limits, enforced per (client IP, family) with token buckets (REFERENCE.md 5).

A family is the longest listed prefix that matches a path, `:uid` / `{x}` segments matching any
one segment. A path under no listed prefix still gets the 10/5/50 default, keyed by its first
two segments, to stay on the safe side.
"""

import threading
import time
from dataclasses import dataclass

# (prefix, rps, burst) exactly as published; capacity is rps * burst.
PUBLISHED: tuple[tuple[str, int, int], ...] = (
    tuple(
        (prefix, 10, 5)
        for prefix in (
            "/v1/auth",
            "/v1/nats",
            "/v1/users",
            "/v1/userprofiles",
            "/v1/permissions",
            "/v1/roles",
            "/v1/teams",
            "/v1/tenants",
            "/v1/projects",
            "/v1/plans",
            "/v1/payments",
            "/v1/audits",
            "/v1/apiKeys",
            "/v1/datasinks",
            "/v1/notifications",
            "/v1/events",
            "/v1/crypto",
            "/v1/async",
            "/v1/errlogs",
            "/v1/jobs",
            "/v1/health",
            "/v1/cache",
            "/v1/cloudaccounts",
            "/v1/packs",
            "/v1/workspaces",
            "/v1/installers",
            "/v1/git/webhook",
            "/v1/registries",
            "/v1/services",
            "/v1/overlords",
            "/v1/cluster",
            "/v1/cloudconfigs",
            "/v1/cloudconfigs/{cloudType}/{uid}/machinePools",
            "/v1/edgehosts",
            "/v1/metrics",
            "/v1/system",
            "/v1/mgmt",
            "/v1/oidc",
            "/v1/clouds",
            "/v1/events/components",
            "/v1/dashboard",
            "/v1/cloudconfigs/{cloudType}/:uid/machinePools/{machinePoolName}/machines",
            "/v1/cloudconfigs/{cloudType}/:uid/machinePools/{machinePoolName}/machines/:machineUid",
            "/v1/auth/authenticate",
            "/v1/auth/services/login",
            "/v1/auth/services/edge/login",
            "/v1/files",
            "/v1/edgehosts/registers",
            "/v1/edgehosts/:uid/health",
            "/v1/edgehosts/:uid/spc/download",
            "/v1/spectroclusters/features/logFetcher",
            "/v1/spectroclusters/:uid/assets",
            "/v1/spectroclusters/cost",
            "/v1/spectroclusters/usage",
            "/v1/spectroclusters/:uid/download",
            "/v1/spectroclusters/acquire",
        )  # fmt: skip
    )
    + (("/v1/auth/user/password/reset", 2, 5),)
    + tuple(
        (prefix, 50, 5)
        for prefix in (
            "/v1/spectroclusters",
            "/v1/clusterprofiles",
            "/v1/clusterprofiles/:uid/packs",
            "/v1/clusterprofiles/:uid/packs/manifests",
            "/v1/clusterprofiles/:uid/packs/{packName}/manifests",
            "/v1/clusterprofiles/validate/packs",
            "/v1/clusterprofiles/:uid/validate/packs",
            "/v1/spectroclusters/:uid/profiles",
        )  # fmt: skip
    )
)
DEFAULT = (10, 5)


def is_wild(segment: str) -> bool:
    return segment.startswith(":") or (segment.startswith("{") and segment.endswith("}"))


@dataclass(frozen=True, slots=True)
class Family:
    prefix: str
    rps: float
    burst: int
    segments: tuple[str, ...]

    @property
    def capacity(self) -> float:
        return self.rps * self.burst

    def matches(self, parts: list[str]) -> bool:
        if len(parts) < len(self.segments):
            return False
        return all(is_wild(s) or s == p for s, p in zip(self.segments, parts, strict=False))

    def rank(self) -> tuple[int, int]:
        """Longer prefixes win; among equally long ones, more literal segments win."""
        return (len(self.segments), sum(1 for s in self.segments if not is_wild(s)))


FAMILIES: tuple[Family, ...] = tuple(
    sorted(
        (Family(p, rps, burst, tuple(s for s in p.split("/") if s)) for p, rps, burst in PUBLISHED),
        key=Family.rank,
        reverse=True,
    )
)


def family_of(path: str) -> Family:
    """The family a request path counts against."""
    parts = [s for s in path.split("/") if s]
    for family in FAMILIES:
        if family.matches(parts):
            return family
    prefix = "/" + "/".join(parts[:2])
    return Family(prefix, DEFAULT[0], DEFAULT[1], tuple(parts[:2]))


class RateLimiter:
    """Token buckets of capacity rps * burst * scale, refilling at rps * scale; scale 0 turns limits off."""

    def __init__(self, scale: float = 1.0, clock: "callable" = time.monotonic) -> None:
        self.scale = scale
        self.clock = clock
        self._buckets: dict[tuple[str, str], list[float]] = {}  # (ip, prefix) -> [tokens, stamp]
        self._lock = threading.Lock()

    def allow(self, ip: str, family: Family) -> bool:
        if self.scale <= 0:
            return True
        rate, capacity = family.rps * self.scale, family.capacity * self.scale
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get((ip, family.prefix))
            if bucket is None:
                bucket = self._buckets[(ip, family.prefix)] = [capacity, now]
            tokens = min(capacity, bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
            if tokens >= 1.0:
                bucket[0] = tokens - 1.0
                return True
            bucket[0] = tokens
            return False

    def reset(self, scale: float | None = None) -> None:
        with self._lock:
            if scale is not None:
                self.scale = scale
            self._buckets.clear()
