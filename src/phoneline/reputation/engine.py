"""Re-scoring: read a chat's or line's counters, score them, apply the dwell, record what changed.

Chat health changes update the chat's `health_status` and its `updated_at`; line health changes go
through lines.service.set_health, so each is a line-history row and a `phone_number.status_updated`
event in the same transaction. Never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.chats.models import Chat
from phoneline.db.base import as_utc
from phoneline.lines import service as lines
from phoneline.lines.models import HealthStatus, Line
from phoneline.reputation import repository
from phoneline.reputation.dwell import settle
from phoneline.reputation.policy import HealthPolicy
from phoneline.reputation.scoring import (
    ChatSignals,
    ChatVerdict,
    LineSignals,
    LineVerdict,
    score_chat,
    score_line,
)

ACTOR = "reputation"


def window_start(policy: HealthPolicy, now: datetime) -> datetime:
    return now - timedelta(days=policy.engagement_window_days - 1)


async def chat_verdicts(
    session: AsyncSession, chats: Sequence[Chat], policy: HealthPolicy, now: datetime
) -> dict[uuid.UUID, tuple[ChatVerdict, int]]:
    """chat id -> (verdict, messages sent after STOP in the window)."""
    totals = await repository.chat_window_totals(
        session, [chat.id for chat in chats], window_start(policy, now).date()
    )
    verdicts = {}
    for chat in chats:
        found = totals.get(chat.id, repository.ChatTotals())
        signals = ChatSignals(
            outbound=found.outbound,
            inbound=found.inbound,
            unanswered_streak=found.unanswered_streak,
            failed=found.failed,
            sends_after_stop=found.overrides,
            opted_out=chat.opted_out_at is not None,
            is_group=chat.is_group,
        )
        verdicts[chat.id] = (score_chat(signals, policy), found.overrides)
    return verdicts


async def rescore_chats(
    session: AsyncSession, chat_ids: Sequence[uuid.UUID], policy: HealthPolicy, now: datetime
) -> int:
    """Re-grade chats; returns how many changed."""
    chats = list((await repository.chats_by_id(session, chat_ids)).values())
    verdicts = await chat_verdicts(session, chats, policy, now)
    changed = 0
    for chat in chats:
        verdict, _ = verdicts[chat.id]
        graded = verdict.severity.line_status  # OPTED_OUT is shown from opted_out_at, not stored
        if chat.health_status != graded:
            chat.health_status, chat.health_updated_at = graded, now
            changed += 1
    # The line's score reads these statuses back in the same transaction (autoflush is off).
    await session.flush()
    return changed


async def line_signals(session: AsyncSession, line: Line, policy: HealthPolicy, now: datetime) -> LineSignals:
    today = now.date()
    first_day = window_start(policy, now).date()
    baseline_start = today - timedelta(days=policy.baseline_days)
    days = await repository.line_days(session, line.id, min(first_day, baseline_start))
    in_window = [d for d in days if d.day >= first_day]
    today_row = next((d for d in days if d.day == today), None)
    history = [d for d in days if baseline_start <= d.day < today and d.outbound > 0]
    baseline = (
        sum(d.outbound for d in history) / len(history) if len(history) >= policy.baseline_min_days else None
    )
    health = await repository.active_chat_health(session, line.id, first_day)
    return LineSignals(
        flagged=line.status == "FLAGGED",
        outbound_window=sum(d.outbound for d in in_window),
        inbound_window=sum(d.inbound for d in in_window),
        active_chats=sum(health.values()),
        unhealthy_chats=health.get("AT_RISK", 0) + health.get("CRITICAL", 0),
        sends_after_stop=sum(d.overrides for d in in_window),
        failed_last_day=today_row.failed if today_row else 0,
        new_conversations_today=today_row.new_conversations if today_row else 0,
        burst_recipients=await repository.burst_recipients(
            session, line.id, now - timedelta(seconds=policy.burst_window_s)
        ),
        outbound_today=today_row.outbound if today_row else 0,
        inbound_today=today_row.inbound if today_row else 0,
        baseline_outbound_per_day=baseline,
    )


def _reason(verdict: LineVerdict) -> str:
    if not verdict.drivers:
        return "no driver above its threshold"
    return "; ".join(f"{d.key}: {d.metric}" for d in verdict.drivers)


@dataclass(frozen=True)
class LineScore:
    line: Line
    verdict: LineVerdict
    signals: LineSignals
    shown: str
    changed: bool


async def rescore_line(session: AsyncSession, line: Line, policy: HealthPolicy, now: datetime) -> LineScore:
    signals = await line_signals(session, line, policy, now)
    verdict = score_line(signals, policy)
    state = settle(
        line.health_status,
        line.health_candidate,
        as_utc(line.health_candidate_since) if line.health_candidate_since else None,
        verdict.status,
        now,
        timedelta(seconds=policy.recovery_dwell_s),
    )
    line.health_candidate, line.health_candidate_since = state.candidate, state.candidate_since
    line.health_scored_at = now
    line.health_drivers = [
        {"key": d.key, "severity": d.severity.line_status, "metric": d.metric, "summary": d.summary}
        for d in verdict.drivers
    ]
    changed = await lines.set_health(
        session, line, HealthStatus(state.shown), actor=ACTOR, reason=_reason(verdict)
    )
    return LineScore(line, verdict, signals, state.shown, changed)


async def rescore_lines(
    session: AsyncSession, line_ids: Sequence[uuid.UUID], policy: HealthPolicy, now: datetime
) -> list[LineScore]:
    return [
        await rescore_line(session, line, policy, now)
        for line in await repository.lines_by_id(session, line_ids)
    ]


async def rescore_lines_and_chats(
    session: AsyncSession, line_ids: Sequence[uuid.UUID], policy: HealthPolicy, now: datetime
) -> list[LineScore]:
    """The sweep's unit (and `phoneline reputation score`): each line's active chats, then the lines."""
    since = window_start(policy, now).date()
    for line_id in line_ids:
        await rescore_chats(
            session, await repository.chat_ids_with_activity(session, line_id, since), policy, now
        )
    return await rescore_lines(session, line_ids, policy, now)
