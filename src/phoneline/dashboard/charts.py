"""A server-rendered SVG line chart of a line's daily activity: no JavaScript, no chart library."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

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
