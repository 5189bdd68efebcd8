"""The simulator's clock, which the API serves and churn runs by."""

import time


class SimClock:
    """The simulator's notion of now: the fleet's anchor plus elapsed time, advances and jumps.

    `advance` is simulated time passing (churn happens); `jump` moves the served clock only.
    """

    def __init__(self, anchor: float) -> None:
        self.anchor = anchor
        self.started = time.monotonic()
        self.advanced = 0.0
        self.jumped = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.started + self.advanced

    def now(self) -> float:
        return self.anchor + self.elapsed() + self.jumped
