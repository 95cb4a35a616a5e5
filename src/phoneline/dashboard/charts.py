"""Server-rendered SVG charts (a line's activity, the lines list's health trend): no JavaScript, no chart
library, nothing a Content-Security-Policy without inline script would block."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from phoneline.chats.models import LineActivity

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 12, 28
# (label, value of a day row, CSS class). Replies are the inbound messages; "received" is what reached
# recipients (sent minus failed): line_activity has no separate delivered count.
SERIES: tuple[tuple[str, Callable[[LineActivity], int], str], ...] = (
    ("sent", lambda row: row.outbound, "sent"),
    ("received", lambda row: max(0, row.outbound - row.failed), "received"),
    ("replies", lambda row: row.inbound, "replies"),
    ("failures", lambda row: row.failed, "failures"),
)


@dataclass(frozen=True)
class Series:
    label: str
    css: str
    points: str  # SVG polyline points
    total: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    days: list[date]
    series: list[Series]
    y_max: int
    gridlines: list[tuple[float, int]]  # (y, value)
    x_labels: list[tuple[float, str]]  # (x, label)
    plot: tuple[int, int, int, int]  # left, top, right, bottom


def _nice_max(value: int) -> int:
    # Multiples of 4, so the four gridline steps are whole numbers.
    for step in (4, 8, 12, 20, 40, 60, 100, 200, 400, 1000, 2000, 4000, 10000):
        if value <= step:
            return step
    return ((value // 10000) + 1) * 10000


def daily_chart(rows: Sequence[LineActivity], today: date, days: int = 30) -> Chart:
    """Per day from `today - days + 1` to `today`, missing days are zero."""
    first = today - timedelta(days=days - 1)
    span = [first + timedelta(days=i) for i in range(days)]
    by_day = {row.day: row for row in rows}
    values = {
        label: [int(value(by_day[d]) or 0) if d in by_day else 0 for d in span] for label, value, _ in SERIES
    }
    y_max = _nice_max(max([1, *(v for column in values.values() for v in column)]))
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    step = (right - LEFT) / max(1, days - 1)

    def x(i: int) -> float:
        return round(LEFT + i * step, 1)

    def y(value: int) -> float:
        return round(bottom - (bottom - TOP) * value / y_max, 1)

    series = [
        Series(
            label,
            css,
            " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values[label])),
            sum(values[label]),
        )
        for label, _, css in SERIES
    ]
    gridlines = [(y(y_max * k // 4), y_max * k // 4) for k in range(5)]
    x_labels = [(x(i), span[i].strftime("%b %d")) for i in range(0, days, 7)]
    return Chart(WIDTH, HEIGHT, span, series, y_max, gridlines, x_labels, (LEFT, TOP, right, bottom))


# --- the lines list's health trend ---------------------------------------------------------------

TREND_WIDTH, TREND_HEIGHT = 84, 18
# Higher on the sparkline is healthier.
HEALTH_LEVEL = {"HEALTHY": 0, "AT_RISK": 1, "CRITICAL": 2}


@dataclass(frozen=True)
class Trend:
    points: str  # SVG polyline points, a step line
    direction: str  # "better", "worse" or "steady" over the window
    summary: str  # said in words, for the title and screen readers


def health_trend(steps: Sequence[tuple[datetime, str]], now: datetime) -> Trend:
    """A step sparkline of one line's health from the first step's time to `now`."""
    start = steps[0][0]
    span = max(1.0, (now - start).total_seconds())

    def x(moment: datetime) -> float:
        return round((moment - start).total_seconds() / span * (TREND_WIDTH - 2) + 1, 1)

    def y(health: str) -> float:
        return round(2 + HEALTH_LEVEL.get(health, 0) * (TREND_HEIGHT - 4) / 2, 1)

    points: list[str] = []
    for index, (moment, health) in enumerate(steps):
        if index:
            points.append(f"{x(moment)},{y(steps[index - 1][1])}")
        points.append(f"{x(moment)},{y(health)}")
    points.append(f"{x(now)},{y(steps[-1][1])}")
    first, last = HEALTH_LEVEL.get(steps[0][1], 0), HEALTH_LEVEL.get(steps[-1][1], 0)
    direction = "better" if last < first else "worse" if last > first else "steady"
    changes = len(steps) - 1
    summary = (
        f"{steps[0][1]} → {steps[-1][1]}, {changes} change{'s' if changes != 1 else ''}"
        if changes
        else f"{steps[-1][1]} throughout"
    )
    return Trend(" ".join(points), direction, summary)
