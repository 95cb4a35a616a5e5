"""When to try failed work again: the configured delays with jitter, stretched by a Retry-After."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from phoneline.db.base import as_utc


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds the receiver asked us to wait (`Retry-After: 120` or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (as_utc(moment) - now).total_seconds())


class RetryPolicy:
    def __init__(
        self,
        delays_s: tuple[float, ...],
        *,
        jitter: float,
        retry_after_cap_s: float,
        rng: random.Random | None = None,
    ) -> None:
        self.delays_s = delays_s
        self.jitter = jitter
        self.retry_after_cap_s = retry_after_cap_s
        self._rng = rng or random.Random()

    @property
    def max_attempts(self) -> int:
        return len(self.delays_s) + 1

    def next_attempt_at(
        self, attempts_made: int, now: datetime, retry_after_s: float | None = None
    ) -> datetime | None:
        """After `attempts_made` failed attempts, when to try again; None when retries are used up.

        A receiver's Retry-After is a floor (never sooner than asked), capped so a huge value cannot
        park an event (and every later event about its line) for hours.
        """
        if attempts_made > len(self.delays_s):
            return None
        delay = self.delays_s[attempts_made - 1]
        if self.jitter:
            delay *= self._rng.uniform(1 - self.jitter, 1 + self.jitter)
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.retry_after_cap_s))
        return now + timedelta(seconds=delay)
