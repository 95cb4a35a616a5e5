"""SQL for the reputation engine: it reads the activity counters, never scans message history
(except two indexed (line_id, created_at) ranges: the burst window, and the messages since a line's
better health reading began)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    case,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.chats.models import Chat, ChatActivity, DeliveryStatus, LineActivity, Message
from phoneline.jobs.lease import LeasedQueue, taken
from phoneline.lines.models import Line
from phoneline.reputation.models import ReputationAudit

_chat_activity = cast(Table, ChatActivity.__table__)
RESCORE_QUEUE = LeasedQueue(
    _chat_activity,
    key=(_chat_activity.c.chat_id, _chat_activity.c.day),
    owner=_chat_activity.c.rescore_owner,
    expires=_chat_activity.c.rescore_lease_expires_at,
    queued=text("chat_activity.dirty"),
)
_lease_dirty = RESCORE_QUEUE.claim(_chat_activity.c.chat_id, _chat_activity.c.line_id)
_settle_dirty = RESCORE_QUEUE.settle({"dirty": False})


async def lease_dirty_chats(
    session: AsyncSession, token: str, *, now: datetime, until: datetime, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Lease up to `limit` queued chat-days to `token` and return their (chat, line) pairs; commit it at
    once. The condition is the partial index's own (`dirty`), so the claim reads that index and never
    the settled history; on PostgreSQL SKIP LOCKED lets several workers take disjoint rows."""
    rows = await session.execute(
        _lease_dirty, {"token": token, "now": now, "lease_until": until, "limit": limit}
    )
    return sorted({(chat_id, line_id) for chat_id, line_id in rows})


async def renew_dirty_chats(session: AsyncSession, token: str, until: datetime) -> None:
    await session.execute(RESCORE_QUEUE.renew, {"token": token, "lease_until": until})


async def settle_dirty_chats(session: AsyncSession, token: str) -> None:
    """Unqueue `token`'s chat-days that no bump touched since the lease (a bump clears the owner)."""
    await session.execute(_settle_dirty, {"token": token})


class ChatState(NamedTuple):
    """What scoring needs of a chat, without loading the ORM object (a tuple: thousands per drain)."""

    id: uuid.UUID
    health_status: str
    opted_out_at: datetime | None
    is_group: bool


async def chat_states(session: AsyncSession, chat_ids: Sequence[uuid.UUID]) -> list[ChatState]:
    if not chat_ids:
        return []
    query = select(Chat.id, Chat.health_status, Chat.opted_out_at, Chat.is_group).where(Chat.id.in_(chat_ids))
    return [ChatState._make(row) for row in await session.execute(query)]


# A Core statement on the table (not the ORM entity), so a list of parameters is one executemany.
_CHATS = cast(Table, Chat.__table__)
_SET_CHAT_HEALTH = (
    update(_CHATS)
    .where(_CHATS.c.id == bindparam("chat_id"))
    .values(health_status=bindparam("health"), health_updated_at=bindparam("at"))
)


async def set_chat_health(
    session: AsyncSession, changes: Sequence[tuple[uuid.UUID, str]], at: datetime
) -> None:
    """Store new chat health grades: one executemany, whatever the number of chats."""
    if changes:
        await session.execute(
            _SET_CHAT_HEALTH,
            [{"chat_id": chat_id, "health": health, "at": at} for chat_id, health in changes],
        )


class ChatTotals(NamedTuple):
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
    c = ChatActivity
    query = (
        select(c.chat_id, c.outbound, c.inbound, c.failed, c.overrides, c.outbound_since_inbound)
        .where(c.chat_id.in_(chat_ids), c.day >= since)
        .order_by(c.chat_id, c.day.desc())
    )
    sums: dict[uuid.UUID, list[int]] = {}  # outbound, inbound, failed, overrides, streak
    answered: set[uuid.UUID] = set()
    for chat_id, outbound, inbound, failed, overrides, since_inbound in await session.execute(query):
        found = sums.setdefault(chat_id, [0, 0, 0, 0, 0])
        found[0] += outbound
        found[1] += inbound
        found[2] += failed
        found[3] += overrides
        # Newest day first: the streak adds each day's tail until the day the recipient last wrote.
        if chat_id not in answered:
            found[4] += since_inbound
            if inbound:
                answered.add(chat_id)
    totals = {chat_id: ChatTotals._make(found) for chat_id, found in sums.items()}
    return totals


@dataclass(frozen=True)
class LineTotals:
    """A line's counters, summed by the database over the windows the scorer reads."""

    outbound_window: int = 0
    inbound_window: int = 0
    overrides_window: int = 0
    outbound_today: int = 0
    inbound_today: int = 0
    failed_today: int = 0
    new_conversations_today: int = 0
    failed_window: int = 0
    opt_outs_window: int = 0
    baseline_outbound: int = 0  # outbound on the baseline days that had any
    baseline_days: int = 0  # how many baseline days had outbound


async def line_totals(
    session: AsyncSession,
    line_ids: Sequence[uuid.UUID],
    *,
    window_from: date,
    baseline_from: date,
    today: date,
) -> dict[uuid.UUID, LineTotals]:
    """Per line, its window, today and baseline figures: one grouped query for the whole batch, one row
    per line (summing in SQL beats shipping every day's row to Python)."""
    a = LineActivity

    def total(column: Any, *when: Any) -> Any:
        return func.coalesce(func.sum(case((and_(*when), column), else_=0)), 0)

    in_window, is_today = a.day >= window_from, a.day == today
    in_baseline = and_(a.day >= baseline_from, a.day < today, a.outbound > 0)
    query = (
        select(
            a.line_id,
            total(a.outbound, in_window),
            total(a.inbound, in_window),
            total(a.overrides, in_window),
            total(a.outbound, is_today),
            total(a.inbound, is_today),
            total(a.failed, is_today),
            total(a.new_conversations, is_today),
            total(a.failed, in_window),
            total(a.opt_outs, in_window),
            total(a.outbound, in_baseline),
            total(literal(1), in_baseline),
        )
        .where(a.line_id.in_(line_ids), a.day >= min(window_from, baseline_from))
        .group_by(a.line_id)
    )
    return {line_id: LineTotals(*map(int, figures)) for line_id, *figures in await session.execute(query)}


async def active_chat_health(
    session: AsyncSession, line_ids: Sequence[uuid.UUID], since: date
) -> dict[uuid.UUID, dict[str, int]]:
    """Per line, the health of its one-to-one chats with activity since `since`, opted-out chats left
    out: one grouped query for the whole batch."""
    active = select(ChatActivity.chat_id).where(ChatActivity.line_id.in_(line_ids), ChatActivity.day >= since)
    # Driven by the active chats' primary keys: a line's whole chat history is never read.
    query = (
        select(Chat.line_id, Chat.health_status, func.count())
        .where(
            Chat.id.in_(active),
            Chat.is_group.is_(False),
            Chat.opted_out_at.is_(None),
        )
        .group_by(Chat.line_id, Chat.health_status)
    )
    health: dict[uuid.UUID, dict[str, int]] = {}
    for line_id, status, count in await session.execute(query):
        health.setdefault(line_id, {})[status] = int(count)
    return health


async def burst_recipients(
    session: AsyncSession, line_ids: Sequence[uuid.UUID], since: datetime
) -> dict[uuid.UUID, int]:
    """Per line, distinct chats it sent to since `since` (the indexed (line_id, created_at) range)."""
    query = (
        select(Message.line_id, func.count(distinct(Message.chat_id)))
        .where(Message.line_id.in_(line_ids), Message.direction == "outbound", Message.created_at >= since)
        .group_by(Message.line_id)
    )
    return {line_id: int(count) for line_id, count in await session.execute(query)}


async def messages_since(
    session: AsyncSession, since_by_line: dict[uuid.UUID, datetime]
) -> dict[uuid.UUID, int]:
    """Per line, the messages it exchanged from its own moment on, failed sends left out: the evidence
    a better health reading has held through (reputation/dwell.py). Each line's part is an indexed
    (line_id, created_at) range; LINES_PER_STATEMENT lines a statement."""
    counts: dict[uuid.UUID, int] = {}
    items = list(since_by_line.items())
    for start in range(0, len(items), LINES_PER_STATEMENT):
        ranges = or_(
            *(
                and_(Message.line_id == line_id, Message.created_at >= since)
                for line_id, since in items[start : start + LINES_PER_STATEMENT]
            )
        )
        query = (
            select(Message.line_id, func.count())
            .where(ranges, Message.delivery_status != DeliveryStatus.FAILED.value)
            .group_by(Message.line_id)
        )
        counts.update({line_id: int(count) for line_id, count in await session.execute(query)})
    return counts


# Two parameters a line: well under every driver's parameter limit.
LINES_PER_STATEMENT = 500


async def scorable_line_ids(session: AsyncSession) -> list[uuid.UUID]:
    return list(await session.scalars(select(Line.id).where(Line.partner_id.is_not(None)).order_by(Line.id)))


async def lines_by_id(session: AsyncSession, line_ids: Sequence[uuid.UUID]) -> list[Line]:
    if not line_ids:
        return []
    query = select(Line).where(Line.id.in_(line_ids)).order_by(Line.id).with_for_update()
    return list(await session.scalars(query))


async def chat_ids_with_activity(
    session: AsyncSession, line_ids: Sequence[uuid.UUID], since: date
) -> list[uuid.UUID]:
    """The chats of these lines with activity since `since` (the lines' active conversations)."""
    query = (
        select(ChatActivity.chat_id)
        .where(ChatActivity.line_id.in_(line_ids), ChatActivity.day >= since)
        .distinct()
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
    query = taken(
        select(ReputationAudit)
        .where(ReputationAudit.status == "pending")
        .order_by(ReputationAudit.created_at)
        .limit(limit)
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


async def carrier_candidates(session: AsyncSession) -> list[tuple[Line, datetime | None]]:
    """(line, its last status change) for the active assigned lines with an outbound message since that
    change: the only ones the simulator's carrier could restrict now (a line with no send in its
    episode breaches no rule), so an idle fleet costs one query per turn instead of three per line."""
    from phoneline.lines.models import LineHistory

    episode_start = (
        select(func.max(LineHistory.created_at))
        .where(LineHistory.line_id == Line.id, LineHistory.field == "status")
        .scalar_subquery()
    )
    sent_since = exists().where(
        Message.line_id == Line.id,
        Message.direction == "outbound",
        or_(episode_start.is_(None), Message.created_at > episode_start),
    )
    query = (
        select(Line, episode_start)
        .where(Line.partner_id.is_not(None), Line.status == "ACTIVE", sent_since)
        .order_by(Line.id)
    )
    return [(line, started) for line, started in await session.execute(query)]


async def carrier_flagged_lines(session: AsyncSession, reason_prefix: str) -> list[Line]:
    """Assigned lines the carrier flagged (their flag reason starts with its prefix)."""
    query = (
        select(Line)
        .where(
            Line.partner_id.is_not(None),
            Line.status == "FLAGGED",
            Line.flag_reason.startswith(reason_prefix, autoescape=True),
        )
        .order_by(Line.id)
    )
    return list(await session.scalars(query))


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


async def queue_counts(session: AsyncSession, now: datetime) -> tuple[int, int, int]:
    """(chat-days queued for re-scoring, of them leased to a worker now, audits still pending)."""
    dirty, in_flight = (
        await session.execute(
            select(func.count(), func.count(case((RESCORE_QUEUE.held(), 1))))
            .select_from(_chat_activity)
            .where(RESCORE_QUEUE.queued),
            {"now": now},
        )
    ).one()
    pending = await session.scalar(
        select(func.count()).select_from(ReputationAudit).where(ReputationAudit.status == "pending")
    )
    return int(dirty or 0), int(in_flight or 0), int(pending or 0)


# --- the simulator's carrier (reputation/carrier.py) ----------------------------------------------------


class CarrierSend(NamedTuple):
    at: datetime
    chat_id: uuid.UUID
    failed: bool
    new_conversation: bool


async def carrier_sends(
    session: AsyncSession, line_id: uuid.UUID, since: datetime | None, limit: int
) -> list[CarrierSend]:
    """The line's last `limit` outbound messages after `since`, oldest first (the indexed range)."""
    query = (
        select(Message.created_at, Message.chat_id, Message.delivery_status, Chat.created_at)
        .join(Chat, Chat.id == Message.chat_id)
        .where(Message.line_id == line_id, Message.direction == "outbound")
        .order_by(Message.created_at.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(Message.created_at > since)
    rows = [
        # A chat opened by this send is a new conversation (the chat row is written in the same moment).
        CarrierSend(at, chat_id, status == "failed", abs((at - opened).total_seconds()) < 1.0)
        for at, chat_id, status, opened in await session.execute(query)
    ]
    return rows[::-1]


async def carrier_replies(
    session: AsyncSession, line_id: uuid.UUID, since: datetime
) -> list[tuple[uuid.UUID, datetime, bool]]:
    """(chat id, when, is a STOP) for the line's inbound messages and opt-outs since `since`."""
    from phoneline.chats.models import OptOut

    stops: list[tuple[uuid.UUID, datetime, bool]] = [
        (chat_id, at, True)
        for chat_id, at in await session.execute(
            select(OptOut.chat_id, OptOut.opted_out_at).where(
                OptOut.line_id == line_id, OptOut.opted_out_at >= since, OptOut.chat_id.is_not(None)
            )
        )
        if chat_id is not None
    ]
    stopped_at = {(chat_id, as_second(at)) for chat_id, at, _ in stops}
    replies = [
        (chat_id, at, False)
        for chat_id, at in await session.execute(
            select(Message.chat_id, Message.created_at).where(
                Message.line_id == line_id, Message.direction == "inbound", Message.created_at >= since
            )
        )
        if (chat_id, as_second(at)) not in stopped_at  # the STOP message itself is not a reply
    ]
    return sorted([*replies, *stops], key=lambda item: item[1])


def as_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0, tzinfo=None)
