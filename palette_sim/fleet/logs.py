"""Audits and events as column arrays, rendered to JSON only when a page asks for them.

A million audit entries as dicts would take gigabytes; as parallel `array`s they take about
25 bytes each. Every entry is addressed by its position; its uid encodes that position, so
`GET /v1/audits/{uid}` needs no index.
"""

import bisect
from array import array
from collections.abc import Callable, Sequence

TENANT = -1  # project column value of tenant-scope entries


class ColumnLog:
    """An append-only log ordered by time, held as parallel arrays."""

    def __init__(self, salt: int = 0, index_objects: bool = False) -> None:
        self.salt = salt & 0xFFFFFFFF
        self.ts = array("d")  # epoch seconds, non-decreasing
        self.project = array("h")  # project index or TENANT
        self.serial = array("l")  # object serial in Fleet.registry
        self.code = array("B")  # action or reason code, meaning per log
        self.actor = array("b")  # person index, -1 = system
        self.by_project: dict[int, array] = {}
        self.by_code: dict[int, array] = {}
        self.by_object: dict[int, array] | None = {} if index_objects else None
        self._cache: dict[tuple, Sequence[int]] = {}

    def __len__(self) -> int:
        return len(self.ts)

    def append(self, t: float, project: int, serial: int, code: int, actor: int) -> int:
        # A backward clock jump must not unsort the log: entries keep non-decreasing times.
        if self.ts and t < self.ts[-1]:
            t = self.ts[-1]
        pos = len(self.ts)
        self.ts.append(t)
        self.project.append(project)
        self.serial.append(serial)
        self.code.append(code)
        self.actor.append(actor)
        self.by_project.setdefault(project, array("l")).append(pos)
        self.by_code.setdefault(code, array("l")).append(pos)
        if self.by_object is not None:
            self.by_object.setdefault(serial, array("l")).append(pos)
        if self._cache:
            self._cache.clear()
        return pos

    def uid(self, pos: int) -> str:
        check = ((pos * 2654435761) ^ self.salt) & 0xFFFFFFFF
        return f"{self.salt:08x}{pos:08x}{check:08x}"

    def position(self, uid: str) -> int | None:
        """The position a uid stands for, or None for a uid this log never issued."""
        if len(uid) != 24:
            return None
        try:
            salt, pos, check = int(uid[:8], 16), int(uid[8:16], 16), int(uid[16:], 16)
        except ValueError:
            return None
        if salt != self.salt or pos >= len(self.ts) or check != ((pos * 2654435761) ^ self.salt) & 0xFFFFFFFF:
            return None
        return pos

    def select(
        self,
        *,
        projects: tuple[int, ...] | None = None,
        serial: int | None = None,
        code: int | None = None,
        start: float | None = None,
        end: float | None = None,
        where: tuple | None = None,
        predicate: Callable[[int], bool] | None = None,
    ) -> Sequence[int]:
        """Positions (ascending time) matching a scope, a time window and an optional predicate.

        `where` is a hashable description of `predicate`, used to cache the filtered positions
        so that the later pages of one listing cost a slice, not a scan.
        """
        key = (projects, serial, code, start, end, where)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        base: Sequence[int]
        if serial is not None:
            base = self.by_object.get(serial, array("l")) if self.by_object is not None else array("l")
        elif projects is None and code is not None:
            base = self.by_code.get(code, array("l"))
            code = None
        elif projects is None:
            base = range(len(self.ts))
        elif len(projects) == 1:
            base = self.by_project.get(projects[0], array("l"))
        else:
            merged: list[int] = []
            for p in projects:
                merged.extend(self.by_project.get(p, ()))
            base = array("l", sorted(merged))
        lo = 0 if start is None else bisect.bisect_left(base, start, key=self.ts.__getitem__)
        hi = len(base) if end is None else bisect.bisect_right(base, end, key=self.ts.__getitem__)
        window = base[lo:hi]
        if code is not None:
            codes = self.code
            window = array("l", [pos for pos in window if codes[pos] == code])
        if predicate is not None:
            window = array("l", [pos for pos in window if predicate(pos)])
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[key] = window
        return window
