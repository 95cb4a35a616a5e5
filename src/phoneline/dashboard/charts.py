"""Server-rendered SVG charts (a line's activity, the lines list's health trend): no JavaScript, no chart
library, nothing a Content-Security-Policy without inline script would block."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from phoneline.chats.hourly import HourCounts
from phoneline.chats.models import LineActivity

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 12, 28
# Sent is drawn as columns and the rest as lines over them, so no series hides another.
LINE_SERIES = ("delivered", "failed", "replies")


@dataclass(frozen=True)
class Bucket:
    """One day or hour of a line's traffic."""

    label: str  # said in the tooltip, e.g. "Dec 01" or "Dec 01 14:00 UTC"
    sent: int
    delivered: int
    failed: int
    replies: int


@dataclass(frozen=True)
class Series:
    label: str
    css: str
    points: str  # SVG polyline points
    total: int


@dataclass(frozen=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    columns: list[Column]  # sent
    sent_total: int
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


def activity_chart(buckets: Sequence[Bucket], x_labels: Sequence[tuple[int, str]]) -> Chart:
    """Columns for sent and lines for delivered, failed and replies; `x_labels` are (bucket index, text)."""
    count = max(1, len(buckets))
    y_max = _nice_max(max([1, *(max(b.sent, b.delivered, b.failed, b.replies) for b in buckets)]))
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    slot = (right - LEFT) / count

    def x(i: int) -> float:
        return round(LEFT + (i + 0.5) * slot, 1)

    def y(value: int) -> float:
        return round(bottom - (bottom - TOP) * value / y_max, 1)

    columns = [
        Column(
            round(LEFT + i * slot + slot * 0.15, 1), y(b.sent), round(slot * 0.7, 1), round(bottom - y(b.sent), 1),
            f"{b.label}: {b.sent} sent, {b.delivered} delivered, {b.failed} failed, {b.replies} replies",
        )
        for i, b in enumerate(buckets)
    ]  # fmt: skip
    series = [
        Series(
            name,
            name,
            " ".join(f"{x(i)},{y(getattr(b, name))}" for i, b in enumerate(buckets)),
            sum(getattr(b, name) for b in buckets),
        )
        for name in LINE_SERIES
    ]
    gridlines = [(y(y_max * k // 4), y_max * k // 4) for k in range(5)]
    return Chart(
        WIDTH, HEIGHT, columns, sum(b.sent for b in buckets), series, y_max, gridlines,
        [(x(i), text) for i, text in x_labels], (LEFT, TOP, right, bottom),
    )  # fmt: skip


def daily_chart(rows: Sequence[LineActivity], today: date, days: int = 30) -> Chart:
    """Per day from `today - days + 1` to `today`, missing days are zero. The daily counters have no
    delivered count, so a day's "delivered" is sent minus failed (messages still in flight included)."""
    first = today - timedelta(days=days - 1)
    span = [first + timedelta(days=i) for i in range(days)]
    by_day = {row.day: row for row in rows}
    buckets = []
    for day in span:
        row = by_day.get(day)
        sent, failed, replies = (row.outbound or 0, row.failed or 0, row.inbound or 0) if row else (0, 0, 0)
        buckets.append(Bucket(day.strftime("%b %d"), sent, max(0, sent - failed), failed, replies))
    return activity_chart(buckets, [(i, span[i].strftime("%b %d")) for i in range(0, days, 7)])


def hourly_chart(hours: Sequence[HourCounts]) -> Chart:
    """The last hours, one bucket each; labels every 6 hours."""
    buckets = [
        Bucket(h.start.strftime("%b %d %H:00 UTC"), h.sent, h.delivered, h.failed, h.replies) for h in hours
    ]
    labels = [
        (i, h.start.strftime("%H:00" if h.start.hour else "%b %d")) for i, h in enumerate(hours) if i % 6 == 0
    ]
    return activity_chart(buckets, labels)


# --- the line page's health history ------------------------------------------------------------------

BAND_HEIGHT = 26


@dataclass(frozen=True)
class BandSegment:
    x: float
    width: float
    css: str
    title: str


def health_band(steps: Sequence[tuple[datetime, str]], now: datetime) -> list[BandSegment]:
    """The line's health from the first step to `now` as coloured segments on the chart's x axis."""
    start = steps[0][0]
    span = max(1.0, (now - start).total_seconds())
    right = WIDTH - RIGHT

    def x(moment: datetime) -> float:
        return round(LEFT + (moment - start).total_seconds() / span * (right - LEFT), 1)

    segments = []
    for index, (moment, health) in enumerate(steps):
        until = steps[index + 1][0] if index + 1 < len(steps) else now
        segments.append(
            BandSegment(
                x(moment), max(0.5, round(x(until) - x(moment), 1)), health.lower().replace("_", "-"),
                f"{health} from {moment.strftime('%b %d %H:%M')} to {until.strftime('%b %d %H:%M')} UTC",
            )
        )  # fmt: skip
    return segments


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
