"""The simulator's carrier: it restricts a line by the independent carrier model
(reputation/carrier_model.py), never by phoneline's own health, so the demo shows a prediction rather
than a tautology. Only with PHONELINE_TRANSPORT=simulator; a real gateway reports its own flags through
the bridge (chats/bridge_routes.py).

A line is flagged at most once per episode. An episode starts at the line's last status change (the
carrier's or an operator's clear): only sends made after it count, so a clear is never followed by a
flag for what was sent before it. The carrier clears its own flag once the line has been restricted for
`simulator_unflag_after_s` and phoneline's health, apart from the flag itself, has recovered.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.base import as_utc
from phoneline.lines import service as lines
from phoneline.lines.models import Line
from phoneline.reputation import repository
from phoneline.reputation.carrier_model import WINDOW_SENDS, CarrierView, Send
from phoneline.settings import Settings

ACTOR = "carrier"
FLAG_PREFIX = "carrier: "


async def carrier_view(
    session: AsyncSession, line: Line, since: datetime | None, now: datetime
) -> CarrierView:
    """The line's traffic since `since` as the carrier sees it: its last sends, replies and STOPs."""
    view = CarrierView()
    sends = await repository.carrier_sends(session, line.id, since, WINDOW_SENDS)
    for sent in sends:
        view.sent(Send(as_utc(sent.at), str(sent.chat_id), sent.new_conversation), failed=sent.failed)
    oldest = as_utc(sends[0].at) if sends else now
    for chat_id, at, stop in await repository.carrier_replies(session, line.id, oldest):
        view.received(str(chat_id), as_utc(at), stop=stop)
    return view


def _recovered(line: Line) -> bool:
    """phoneline's health apart from the flag: no driver but `flagged` stands."""
    return all(driver.get("key") == "flagged" for driver in line.health_drivers or [])


async def simulate_carrier(session: AsyncSession, settings: Settings, now: datetime) -> list[str]:
    """Flag or clear lines; returns what it did, e.g. ["flagged +12025550123"]."""
    unflag_after = timedelta(seconds=settings.simulator_unflag_after_s / settings.simulator_speed)
    done = []
    for line, episode_start in await repository.carrier_candidates(session):
        view = await carrier_view(session, line, as_utc(episode_start) if episode_start else None, now)
        breaches = view.breaches()
        if breaches:
            rule, why = next(iter(breaches.items()))
            await lines.flag_line(session, line.number, actor=ACTOR, reason=f"{FLAG_PREFIX}{rule}: {why}")
            done.append(f"flagged {line.number}")
    # Only its own flags: an operator's flag is the operator's to clear.
    for line in await repository.carrier_flagged_lines(session, FLAG_PREFIX):
        flagged_since = await repository.last_change(session, line.id, "status")
        if flagged_since is None or now - as_utc(flagged_since) < unflag_after or not _recovered(line):
            continue
        await lines.unflag_line(
            session, line.number, actor=ACTOR, reason="carrier: recovery period over and the line recovered"
        )
        done.append(f"cleared {line.number}")
    return done
