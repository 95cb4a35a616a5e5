"""Pacing on the send path and in the line views: today's capacity, and refusals under `enforce`.

Under `advise` (the default) a send costs one cached lookup of the partner's mode and nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.base import as_utc
from phoneline.errors import LineNotEligible, RateLimited
from phoneline.lines.models import Line
from phoneline.lines.schemas import Limit, Pace, PacingOut
from phoneline.partners.repository import partner_pacing_mode
from phoneline.policy import PacingMode
from phoneline.reputation import repository
from phoneline.reputation.pacing import Capacity, LineActivity, capacity, decide
from phoneline.settings import Settings


def pacing_out(mode: str, cap: Capacity) -> PacingOut:
    return PacingOut(
        mode=mode,
        enforced=mode == PacingMode.ENFORCE.value,
        new_conversations=Limit(
            used=cap.new_conversations_used,
            limit=cap.new_conversations_limit,
            remaining=cap.new_conversations_remaining,
        ),
        messages=Limit(used=cap.messages_used, limit=cap.messages_limit, remaining=cap.messages_remaining),
        pace=Pace(sends_last_minute=cap.sends_last_minute, limit_per_minute=cap.sends_per_minute_limit),
    )


async def line_capacities(
    session: AsyncSession, lines: Sequence[Line], settings: Settings, now: datetime
) -> dict[uuid.UUID, tuple[Capacity, datetime | None]]:
    ids = [line.id for line in lines]
    today = await repository.today_counts(session, ids, now.date())
    recent = await repository.recent_sends(session, ids, now - timedelta(seconds=60))
    result = {}
    for line in lines:
        row = today.get(line.id)
        sends, oldest = recent.get(line.id, (0, None))
        activity = LineActivity(
            health=line.health_status,
            age_days=max(0, (now.date() - as_utc(line.created_at).date()).days),
            sends_last_minute=sends,
            sends_today=row.outbound if row else 0,
            received_today=row.inbound if row else 0,
            new_conversations_today=row.new_conversations if row else 0,
        )
        result[line.id] = (
            capacity(activity, settings.reputation, settings.pacing),
            as_utc(oldest) if oldest else None,
        )
    return result


class PacingGuard:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def check(
        self, session: AsyncSession, mode: PacingMode, line: Line, *, new_conversation: bool, now: datetime
    ) -> None:
        """Refuse (403/2027) or throttle (429/1007 with Retry-After) a send under `enforce`."""
        if mode is PacingMode.ADVISE:
            return
        cap, oldest = (await line_capacities(session, [line], self.settings, now))[line.id]
        activity = LineActivity(
            health=line.health_status,
            age_days=max(0, (now.date() - as_utc(line.created_at).date()).days),
            sends_last_minute=cap.sends_last_minute,
            sends_today=0,
            received_today=0,
            new_conversations_today=cap.new_conversations_used,
        )
        decision = decide(
            mode, activity, new_conversation=new_conversation, now=now, oldest_send_in_last_minute=oldest,
            health_policy=self.settings.reputation, pacing=self.settings.pacing,
        )  # fmt: skip
        if decision.refusal == "critical":
            raise LineNotEligible(f"{line.number} is CRITICAL and paced: {decision.reason}")
        if decision.refusal == "throttled":
            raise RateLimited(
                f"{line.number} is paced: {decision.reason}", retry_after=decision.retry_after_s
            )


async def pacing_views(
    session: AsyncSession, partner_id: uuid.UUID, lines: Sequence[Line], settings: Settings, now: datetime
) -> dict[uuid.UUID, PacingOut]:
    """`pacing` for each of a partner's lines: two grouped queries whatever the number of lines."""
    mode = await partner_pacing_mode(session, partner_id)
    capacities = await line_capacities(session, lines, settings, now)
    return {line_id: pacing_out(mode, cap) for line_id, (cap, _oldest) in capacities.items()}
