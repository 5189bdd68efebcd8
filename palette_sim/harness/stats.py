"""What the simulator served, so tests can check a client from the server's side."""

import threading


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: dict[str, int] = {}  # per rate-limit family
            self.throttled_: dict[str, int] = {}  # 429s given, per family
            self.statuses: dict[str, int] = {}
            self.endpoints: dict[str, int] = {}  # "METHOD /rule/<uid>"
            self.edge: dict[str, int] = {}  # Edge Host API requests per host address

    def _bump(self, table: dict[str, int], key: str) -> None:
        with self._lock:
            table[key] = table.get(key, 0) + 1

    def request(self, family: str) -> None:
        self._bump(self.requests, family)

    def throttled(self, family: str) -> None:
        self._bump(self.throttled_, family)

    def status(self, code: int) -> None:
        self._bump(self.statuses, str(code))

    def endpoint(self, name: str) -> None:
        self._bump(self.endpoints, name)

    def edge_request(self, address: str) -> None:
        self._bump(self.edge, address)

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "total": sum(self.requests.values()),
                "requests": dict(self.requests),
                "throttled": dict(self.throttled_),
                "throttledTotal": sum(self.throttled_.values()),
                "statuses": dict(self.statuses),
                "endpoints": dict(self.endpoints),
                "edgeRequests": sum(self.edge.values()),
                "edgeHosts": len(self.edge),
            }
