"""Injected faults: what a flaky real Palette might do to a client (issue 3, item 7).

Set at start by CLI flags and at run time by `PUT /__sim/faults`. Every random decision comes
from one seeded generator, so a test that sends the same requests sees the same faults.
"""

import random
import threading
import time
from dataclasses import asdict, dataclass, fields


@dataclass
class FaultConfig:
    latency_ms: float = 0.0  # added to every /v1 response
    latency_jitter_ms: float = 0.0  # plus uniform(0, jitter)
    error_rate: float = 0.0  # fraction answered 500/502/503/504 with a v1Error body
    throttle_rate: float = 0.0  # fraction answered 429 although the bucket had tokens
    storm_seconds: float = 0.0  # write: every /v1 request gets 429 for this long from now
    hang_rate: float = 0.0  # fraction that sleep `hang_seconds` before answering
    hang_seconds: float = 60.0
    malformed_rate: float = 0.0  # fraction whose 200 body is not JSON
    truncated_rate: float = 0.0  # fraction whose 200 body is cut in half
    repeat_rate: float = 0.0  # fraction of list pages whose continue token starts the next page earlier
    drop_rate: float = 0.0  # fraction of list pages whose continue token skips items
    loop_rate: float = 0.0  # fraction of list pages that hand back the token they were called with
    paths: tuple[str, ...] = ()  # only paths with one of these prefixes get faults (empty = all /v1)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


RATES = (
    "error_rate",
    "throttle_rate",
    "hang_rate",
    "malformed_rate",
    "truncated_rate",
    "repeat_rate",
    "drop_rate",
    "loop_rate",
)


class Faults:
    """The live fault settings plus the seeded dice that apply them."""

    def __init__(self, config: FaultConfig | None = None, seed: int = 0) -> None:
        self.config = config or FaultConfig()
        self.rng = random.Random(seed ^ 0x5EED)
        self.storm_until = 0.0
        self.injected: dict[str, int] = {}
        self._lock = threading.Lock()
        if self.config.storm_seconds:
            self.storm_until = time.monotonic() + self.config.storm_seconds

    def update(self, changes: dict) -> dict:
        """Apply a partial update; unknown keys and bad values raise ValueError."""
        with self._lock:
            current = asdict(self.config)
            for key, value in changes.items():
                if key not in current:
                    raise ValueError(f"unknown fault {key!r}")
                if key == "paths":
                    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                        raise ValueError("paths must be a list of strings")
                    current[key] = tuple(value)
                    continue
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"{key} must be a non-negative number")
                if key in RATES and value > 1:
                    raise ValueError(f"{key} is a fraction between 0 and 1")
                current[key] = float(value)
            self.config = FaultConfig(**current)
            if "storm_seconds" in changes:
                self.storm_until = time.monotonic() + self.config.storm_seconds if self.config.storm_seconds else 0.0
            return self.describe()

    def clear(self) -> dict:
        with self._lock:
            self.config = FaultConfig()
            self.storm_until = 0.0
        return self.describe()

    def describe(self) -> dict:
        out = asdict(self.config)
        out["paths"] = list(self.config.paths)
        out["storm_remaining"] = max(0.0, round(self.storm_until - time.monotonic(), 3))
        return out

    def applies(self, path: str) -> bool:
        return not self.config.paths or any(path.startswith(p) for p in self.config.paths)

    def roll(self, name: str) -> bool:
        """True with probability config.<name>; counted when it fires."""
        rate = getattr(self.config, name)
        if rate <= 0:
            return False
        with self._lock:
            hit = self.rng.random() < rate
            if hit:
                self.injected[name] = self.injected.get(name, 0) + 1
        return hit

    def storming(self) -> bool:
        if self.storm_until and time.monotonic() < self.storm_until:
            with self._lock:
                self.injected["storm"] = self.injected.get("storm", 0) + 1
            return True
        return False

    def delay(self) -> float:
        c = self.config
        if not c.latency_ms and not c.latency_jitter_ms:
            return 0.0
        with self._lock:
            jitter = self.rng.uniform(0, c.latency_jitter_ms) if c.latency_jitter_ms else 0.0
        return (c.latency_ms + jitter) / 1000.0

    def choice(self, options: tuple) -> object:
        with self._lock:
            return self.rng.choice(options)
