"""What the job runtime reports about each kind of work: the figures behind `phoneline jobs status`,
the operator console and the backlog gauges of `/metrics`.

Each domain counts its own queue (in its repository); worker.py lists them. "Overdue" is work that
waits only for a worker: due now, not leased, not waiting on a backoff, a breaker or an earlier event
of its line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from phoneline.db.base import as_utc
from phoneline.metrics import JOB_BACKLOG, JOB_IN_FLIGHT, JOB_OLDEST_OVERDUE


@dataclass(frozen=True)
class KindStatus:
    kind: str
    backlog: int  # waiting or in flight, due or not
    in_flight: int  # leased to a worker now
    failed: int  # given up on for good
    overdue: int
    oldest_overdue_since: datetime | None

    def oldest_overdue_s(self, now: datetime) -> float:
        if self.oldest_overdue_since is None:
            return 0.0
        return max(0.0, (now - as_utc(self.oldest_overdue_since)).total_seconds())

    def as_dict(self, now: datetime) -> dict[str, Any]:
        doc = asdict(self)
        since = self.oldest_overdue_since
        doc["oldest_overdue_since"] = as_utc(since).isoformat() if since else None
        doc["oldest_overdue_s"] = round(self.oldest_overdue_s(now), 3)
        return doc


def set_gauges(statuses: list[KindStatus], now: datetime) -> None:
    for status in statuses:
        JOB_BACKLOG.labels(status.kind).set(status.backlog)
        JOB_IN_FLIGHT.labels(status.kind).set(status.in_flight)
        JOB_OLDEST_OVERDUE.labels(status.kind).set(status.oldest_overdue_s(now))
