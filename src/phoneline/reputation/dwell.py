"""Hysteresis: a worse status shows at once; a better one only after enough new evidence or the dwell.

Without it a line near a threshold would flap between states on every message, and every flap would
page someone. A better status waits until either the line has exchanged `evidence_needed` messages since
the better reading began (each one re-scored, and the reading held through all of them), or the dwell
time has passed, whichever comes first. A busy line that blipped for a second is back within a few
seconds of traffic; a quiet one within the dwell. While a better status is waiting, the worst status
seen during the wait is what gets shown when the wait is over, so a line climbs back one honest step at
a time.
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
    *,
    evidence: int = 0,
    evidence_needed: int = 0,
) -> Settled:
    """`evidence`: healthy messages the line exchanged since `candidate_since` (0 without a candidate)."""
    if ORDER[computed] >= ORDER[shown]:
        return Settled(computed, None, None)
    if candidate is None or candidate_since is None or ORDER[candidate] >= ORDER[shown]:
        # Nothing better is waiting. A stored candidate no better than the shown status cannot come from
        # this function; were one ever stored, it is dropped, or evidence for it would promote it.
        return Settled(shown, computed, now)
    waiting = max(candidate, computed, key=ORDER.__getitem__)
    enough = evidence_needed > 0 and evidence >= evidence_needed
    if now - candidate_since < dwell and not enough:
        return Settled(shown, waiting, candidate_since)
    if ORDER[computed] < ORDER[waiting]:
        return Settled(waiting, computed, now)
    return Settled(waiting, None, None)
