"""Hysteresis: a worse status shows at once; a better one only after it has held for the dwell time.

Without it a line near a threshold would flap between states on every message, and every flap would
page someone. While a better status is waiting, the worst status seen during the wait is what gets
shown when the wait is over, so a line climbs back one honest step at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ORDER = {"HEALTHY": 0, "AT_RISK": 1, "CRITICAL": 2}


@dataclass(frozen=True)
class Settled:
    shown: str
    candidate: str | None
    candidate_since: datetime | None


def settle(
    shown: str,
    candidate: str | None,
    candidate_since: datetime | None,
    computed: str,
    now: datetime,
    dwell: timedelta,
) -> Settled:
    if ORDER[computed] >= ORDER[shown]:
        return Settled(computed, None, None)
    if candidate is None or candidate_since is None:
        return Settled(shown, computed, now)
    waiting = max(candidate, computed, key=ORDER.__getitem__)
    if now - candidate_since < dwell:
        return Settled(shown, waiting, candidate_since)
    if ORDER[computed] < ORDER[waiting]:
        return Settled(waiting, computed, now)
    return Settled(waiting, None, None)
