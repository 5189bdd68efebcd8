"""A living fleet (placeholder until churn lands): advances nothing when the rate is 0."""

from palette_sim.fleet import Fleet


class Churn:
    def __init__(self, fleet: Fleet, rate: float, clock: object) -> None:
        self.fleet = fleet
        self.rate = rate
        self.clock = clock
        self.ticks = 0
        self.counts: dict[str, int] = {}

    def set_rate(self, rate: float) -> None:
        self.rate = rate

    def catch_up(self) -> int:
        return 0
