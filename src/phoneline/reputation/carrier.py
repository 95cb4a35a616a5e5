"""The simulator's carrier: it flags a line that stays CRITICAL while it keeps sending, and clears the
flag after a recovery period, as a real carrier would. Only with PHONELINE_TRANSPORT=simulator; a real
gateway reports its own flags through the bridge (chats/bridge_routes.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.base import as_utc
from phoneline.lines import service as lines
from phoneline.reputation import repository
from phoneline.settings import Settings

ACTOR = "carrier"
FLAG_REASON = "carrier: the line stayed CRITICAL while it kept sending"


async def simulate_carrier(session: AsyncSession, settings: Settings, now: datetime) -> list[str]:
    """Flag or clear lines; returns what it did, e.g. ["flagged +12025550123"]."""
    flag_after = timedelta(seconds=settings.simulator_flag_after_s / settings.simulator_speed)
    unflag_after = timedelta(seconds=settings.simulator_unflag_after_s / settings.simulator_speed)
    done = []
    for line in await repository.lines_in_state(session, status="ACTIVE", health="CRITICAL"):
        critical_since = await repository.last_change(session, line.id, "health_status")
        if critical_since is None or now - as_utc(critical_since) < flag_after:
            continue
        if await repository.outbound_since(session, line.id, as_utc(critical_since)):
            await lines.flag_line(session, line.number, actor=ACTOR, reason=FLAG_REASON)
            done.append(f"flagged {line.number}")
    for line in await repository.lines_in_state(session, status="FLAGGED"):
        if line.flag_reason != FLAG_REASON:
            continue  # an operator's flag is the operator's to clear
        flagged_since = await repository.last_change(session, line.id, "status")
        if flagged_since is not None and now - as_utc(flagged_since) >= unflag_after:
            await lines.unflag_line(session, line.number, actor=ACTOR, reason="carrier: recovery period over")
            done.append(f"cleared {line.number}")
    return done
