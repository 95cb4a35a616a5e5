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

from phoneline.db.base import as_utc
from phoneline.lines import service as lines
from phoneline.lines.models import HealthStatus, Line
from phoneline.policy import HealthPolicy
from phoneline.reputation import repository
from phoneline.reputation.dwell import settle
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


# Chats per statement: keeps IN lists well under every driver's parameter limit.
CHAT_BATCH = 500


async def chat_verdicts(
    session: AsyncSession, chats: Sequence[repository.ChatState], policy: HealthPolicy, now: datetime
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
    """Re-grade chats, a few statements per CHAT_BATCH chats; returns how many changed."""
    changed = 0
    for start in range(0, len(chat_ids), CHAT_BATCH):
        chats = await repository.chat_states(session, chat_ids[start : start + CHAT_BATCH])
        verdicts = await chat_verdicts(session, chats, policy, now)
        changes = []
        for chat in chats:
            graded = verdicts[chat.id][0].severity.line_status  # OPTED_OUT shows from opted_out_at
            if graded != chat.health_status:
                changes.append((chat.id, graded))
        # The lines' scores read these statuses back in the same transaction.
        await repository.set_chat_health(session, changes, now)
        changed += len(changes)
    return changed


async def line_signals(
    session: AsyncSession, lines: Sequence[Line], policy: HealthPolicy, now: datetime
) -> dict[uuid.UUID, LineSignals]:
    """Each line's signals, from three grouped queries for the whole batch."""
    today = now.date()
    first_day = window_start(policy, now).date()
    baseline_start = today - timedelta(days=policy.baseline_days)
    line_ids = [line.id for line in lines]
    all_totals = await repository.line_totals(
        session, line_ids, window_from=first_day, baseline_from=baseline_start, today=today
    )
    all_health = await repository.active_chat_health(session, line_ids, first_day)
    bursts = await repository.burst_recipients(
        session, line_ids, now - timedelta(seconds=policy.burst_window_s)
    )
    signals = {}
    for line in lines:
        totals = all_totals.get(line.id, repository.LineTotals())
        health = all_health.get(line.id, {})
        baseline = (
            totals.baseline_outbound / totals.baseline_days
            if totals.baseline_days >= policy.baseline_min_days
            else None
        )
        signals[line.id] = LineSignals(
            flagged=line.status == "FLAGGED",
            outbound_window=totals.outbound_window,
            inbound_window=totals.inbound_window,
            active_chats=sum(health.values()),
            unhealthy_chats=health.get("AT_RISK", 0) + health.get("CRITICAL", 0),
            sends_after_stop=totals.overrides_window,
            failed_last_day=totals.failed_today,
            failed_window=totals.failed_window,
            opt_outs_window=totals.opt_outs_window,
            new_conversations_today=totals.new_conversations_today,
            burst_recipients=bursts.get(line.id, 0),
            outbound_today=totals.outbound_today,
            inbound_today=totals.inbound_today,
            baseline_outbound_per_day=baseline,
        )
    return signals


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


async def _settle(
    session: AsyncSession,
    line: Line,
    signals: LineSignals,
    policy: HealthPolicy,
    now: datetime,
    evidence: int,
) -> LineScore:
    verdict = score_line(signals, policy)
    state = settle(
        line.health_status,
        line.health_candidate,
        as_utc(line.health_candidate_since) if line.health_candidate_since else None,
        verdict.status,
        now,
        timedelta(seconds=policy.recovery_dwell_s),
        evidence=evidence,
        evidence_needed=policy.recovery_evidence_messages,
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


async def rescore_loaded_lines(
    session: AsyncSession, loaded: Sequence[Line], policy: HealthPolicy, now: datetime
) -> list[LineScore]:
    """Score lines already loaded (and locked) in this session."""
    signals = await line_signals(session, loaded, policy, now)
    # Only lines waiting to show a better status need their evidence counted (reputation/dwell.py).
    waiting = {
        line.id: as_utc(line.health_candidate_since)
        for line in loaded
        if line.health_candidate is not None and line.health_candidate_since is not None
    }
    evidence = await repository.messages_since(session, waiting) if policy.recovery_evidence_messages else {}
    return [
        await _settle(session, line, signals[line.id], policy, now, evidence.get(line.id, 0))
        for line in loaded
    ]


async def rescore_lines(
    session: AsyncSession, line_ids: Sequence[uuid.UUID], policy: HealthPolicy, now: datetime
) -> list[LineScore]:
    return await rescore_loaded_lines(session, await repository.lines_by_id(session, line_ids), policy, now)


async def rescore_lines_and_chats(
    session: AsyncSession, line_ids: Sequence[uuid.UUID], policy: HealthPolicy, now: datetime
) -> list[LineScore]:
    """The sweep's unit (and `phoneline reputation score`): the lines' active chats, then the lines."""
    since = window_start(policy, now).date()
    await rescore_chats(
        session, await repository.chat_ids_with_activity(session, line_ids, since), policy, now
    )
    return await rescore_lines(session, line_ids, policy, now)
