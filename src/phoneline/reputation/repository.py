"""SQL for the reputation engine: it reads the activity counters, never scans message history
(except the one indexed burst-window count)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, distinct, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.chats.models import Chat, ChatActivity, LineActivity, Message
from phoneline.lines.models import Line
from phoneline.reputation.models import ReputationAudit


async def claim_dirty_chats(session: AsyncSession, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Take up to `limit` queued (chat, line) pairs and clear their flags in this transaction.

    On PostgreSQL the rows are locked with SKIP LOCKED, so several workers take disjoint work.
    """
    query = (
        select(ChatActivity.chat_id, ChatActivity.day, ChatActivity.line_id)
        .where(ChatActivity.dirty.is_(True))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (await session.execute(query)).all()
    for chat_id, day, _line_id in rows:
        await session.execute(
            update(ChatActivity)
            .where(ChatActivity.chat_id == chat_id, ChatActivity.day == day)
            .values(dirty=False)
        )
    pairs = {(chat_id, line_id) for chat_id, _day, line_id in rows}
    return sorted(pairs)


async def chats_by_id(session: AsyncSession, chat_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Chat]:
    if not chat_ids:
        return {}
    return {chat.id: chat for chat in await session.scalars(select(Chat).where(Chat.id.in_(chat_ids)))}


@dataclass(frozen=True)
class ChatTotals:
    outbound: int = 0
    inbound: int = 0
    failed: int = 0
    overrides: int = 0
    unanswered_streak: int = 0


async def chat_window_totals(
    session: AsyncSession, chat_ids: Sequence[uuid.UUID], since: date
) -> dict[uuid.UUID, ChatTotals]:
    """Per chat, the window's sums and the unanswered streak (outbound since the recipient last wrote)."""
    if not chat_ids:
        return {}
    query = (
        select(ChatActivity)
        .where(ChatActivity.chat_id.in_(chat_ids), ChatActivity.day >= since)
        .order_by(ChatActivity.chat_id, ChatActivity.day.desc())
    )
    days: dict[uuid.UUID, list[ChatActivity]] = {}
    for row in await session.scalars(query):
        days.setdefault(row.chat_id, []).append(row)
    totals = {}
    for chat_id, rows in days.items():
        streak = 0
        for row in rows:  # newest first: add each day's tail until the day the recipient last wrote
            streak += row.outbound_since_inbound
            if row.inbound:
                break
        totals[chat_id] = ChatTotals(
            outbound=sum(r.outbound for r in rows),
            inbound=sum(r.inbound for r in rows),
            failed=sum(r.failed for r in rows),
            overrides=sum(r.overrides for r in rows),
            unanswered_streak=streak,
        )
    return totals


async def line_days(session: AsyncSession, line_id: uuid.UUID, since: date) -> Sequence[LineActivity]:
    query = select(LineActivity).where(LineActivity.line_id == line_id, LineActivity.day >= since)
    return (await session.scalars(query)).all()


async def active_chat_health(session: AsyncSession, line_id: uuid.UUID, since: date) -> dict[str, int]:
    """Health of the line's one-to-one chats with activity since `since`, opted-out chats left out."""
    active = select(ChatActivity.chat_id).where(ChatActivity.line_id == line_id, ChatActivity.day >= since)
    query = (
        select(Chat.health_status, func.count())
        .where(
            Chat.line_id == line_id,
            Chat.is_group.is_(False),
            Chat.opted_out_at.is_(None),
            Chat.id.in_(active),
        )
        .group_by(Chat.health_status)
    )
    return {status: int(count) for status, count in await session.execute(query)}


async def burst_recipients(session: AsyncSession, line_id: uuid.UUID, since: datetime) -> int:
    query = select(func.count(distinct(Message.chat_id))).where(
        Message.line_id == line_id, Message.direction == "outbound", Message.created_at >= since
    )
    return int(await session.scalar(query) or 0)


async def scorable_line_ids(session: AsyncSession) -> list[uuid.UUID]:
    return list(await session.scalars(select(Line.id).where(Line.partner_id.is_not(None)).order_by(Line.id)))


async def lines_by_id(session: AsyncSession, line_ids: Sequence[uuid.UUID]) -> list[Line]:
    if not line_ids:
        return []
    query = select(Line).where(Line.id.in_(line_ids)).order_by(Line.id).with_for_update()
    return list(await session.scalars(query))


async def chat_ids_with_activity(session: AsyncSession, line_id: uuid.UUID, since: date) -> list[uuid.UUID]:
    query = select(distinct(ChatActivity.chat_id)).where(
        ChatActivity.line_id == line_id, ChatActivity.day >= since
    )
    return list(await session.scalars(query))


# --- audits ------------------------------------------------------------------------------------------


async def latest_audit(session: AsyncSession, line_id: uuid.UUID) -> ReputationAudit | None:
    query = (
        select(ReputationAudit)
        .where(ReputationAudit.line_id == line_id)
        .order_by(ReputationAudit.created_at.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def get_audit(
    session: AsyncSession, partner_id: uuid.UUID, line_id: uuid.UUID, audit_id: uuid.UUID
) -> ReputationAudit | None:
    query = select(ReputationAudit).where(
        and_(
            ReputationAudit.id == audit_id,
            ReputationAudit.partner_id == partner_id,
            ReputationAudit.line_id == line_id,
        )
    )
    return await session.scalar(query)


async def pending_audits(session: AsyncSession, limit: int) -> Sequence[ReputationAudit]:
    query = (
        select(ReputationAudit)
        .where(ReputationAudit.status == "pending")
        .order_by(ReputationAudit.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def today_counts(
    session: AsyncSession, line_ids: Sequence[uuid.UUID], day: date
) -> dict[uuid.UUID, LineActivity]:
    if not line_ids:
        return {}
    query = select(LineActivity).where(LineActivity.line_id.in_(line_ids), LineActivity.day == day)
    return {row.line_id: row for row in await session.scalars(query)}


async def recent_sends(
    session: AsyncSession, line_ids: Sequence[uuid.UUID], since: datetime
) -> dict[uuid.UUID, tuple[int, datetime | None]]:
    """line id -> (outbound messages since `since`, the oldest of them)."""
    if not line_ids:
        return {}
    query = (
        select(Message.line_id, func.count(), func.min(Message.created_at))
        .where(Message.line_id.in_(line_ids), Message.direction == "outbound", Message.created_at >= since)
        .group_by(Message.line_id)
    )
    return {line_id: (int(count), oldest) for line_id, count, oldest in await session.execute(query)}


async def last_change(session: AsyncSession, line_id: uuid.UUID, field: str) -> datetime | None:
    from phoneline.lines.models import LineHistory

    query = select(func.max(LineHistory.created_at)).where(
        LineHistory.line_id == line_id, LineHistory.field == field
    )
    return await session.scalar(query)


async def lines_in_state(
    session: AsyncSession, *, status: str | None = None, health: str | None = None
) -> list[Line]:
    query = select(Line).where(Line.partner_id.is_not(None)).order_by(Line.id)
    if status is not None:
        query = query.where(Line.status == status)
    if health is not None:
        query = query.where(Line.health_status == health)
    return list(await session.scalars(query))


async def outbound_since(session: AsyncSession, line_id: uuid.UUID, since: datetime) -> int:
    query = select(func.count()).where(
        Message.line_id == line_id, Message.direction == "outbound", Message.created_at > since
    )
    return int(await session.scalar(query) or 0)


async def latest_partner_audit(
    session: AsyncSession, partner_id: uuid.UUID, line_id: uuid.UUID
) -> ReputationAudit | None:
    """The newest audit the partner ran on the line (a previous owner's audits stay theirs)."""
    query = (
        select(ReputationAudit)
        .where(ReputationAudit.line_id == line_id, ReputationAudit.partner_id == partner_id)
        .order_by(ReputationAudit.created_at.desc())
        .limit(1)
    )
    return await session.scalar(query)
