"""Charts drawn on the server as SVG: no JavaScript, nothing inline for a strict CSP to block."""

from dataclasses import dataclass
from datetime import datetime, timedelta

WIDTH, HEIGHT = 720, 180
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 40, 22, 10


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # the class that colours and dashes it (colour is not its only signal)
    segments: list[str]  # polyline points attributes; a gap where no sample was taken splits them
    last: int | None


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    series: list[Series]
    y_ticks: list[tuple[float, int]]  # (y, value)
    x_ticks: list[tuple[float, str]]  # (x, label)
    empty: bool


def line_chart(
    samples: list[tuple[datetime, dict[str, int]]], names: dict[str, tuple[str, str]], start: datetime, end: datetime
) -> LineChart:
    """Lines of `names` (key -> (label, css class)) over [start, end]; a missing hour is a gap, not a zero."""
    top = max([1, *(v for _, values in samples for v in values.values())])
    span = (end - start).total_seconds() or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT - 10, HEIGHT - PAD_BOTTOM - PAD_TOP

    def x(moment: datetime) -> float:
        return round(PAD_LEFT + plot_w * (moment - start).total_seconds() / span, 1)

    def y(value: float) -> float:
        return round(PAD_TOP + plot_h * (1 - value / top), 1)

    series = []
    for key, (label, css) in names.items():
        segments: list[list[str]] = []
        previous = None
        for moment, values in samples:
            if key not in values:
                continue
            if previous is None or moment - previous > timedelta(hours=2):
                segments.append([])  # a gap where the sync recorded nothing is not drawn as a line
            segments[-1].append(f"{x(moment)},{y(values[key])}")
            previous = moment
        last = samples[-1][1].get(key) if samples else None
        series.append(Series(label, css, [" ".join(points) for points in segments], last))
    y_ticks = [(y(v), v) for v in sorted({0, top // 2, top})]
    x_ticks = [(x(start + timedelta(days=d)), (start + timedelta(days=d)).strftime("%a %d")) for d in range(8)]
    return LineChart(WIDTH, HEIGHT, series, y_ticks, x_ticks, empty=not samples)
