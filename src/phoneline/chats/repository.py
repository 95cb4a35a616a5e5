"""SQL for chats, messages, opt-outs, blocked handles, reactions and attachments. Partner-facing reads
always take the partner id.

Longer than our usual module on purpose: it is all of chats' SQL, and the send path, the carrier side
and the reads share most of its statements; split by table, they would import each other."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    DateTime,
    Exists,
    Table,
    Uuid,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from phoneline.attachments.models import Attachment
from phoneline.chats.models import (
    AWAITING_HANDOVER,
    BlockedHandle,
    Chat,
    ChatActivity,
    ChatHandle,
    LineActivity,
    LineSuggestion,
    Message,
    OptOut,
    Reaction,
)
from phoneline.chats.selection import Candidate
from phoneline.db.base import as_utc
from phoneline.jobs.lease import taken
from phoneline.lines.models import Line

_messages = cast(Table, Message.__table__)
_chats = cast(Table, Chat.__table__)
_lines = cast(Table, Line.__table__)


def _opted_out_clause() -> Exists:
    """Whether the chat's (one-to-one) recipient is opted out from the chat's partner right now."""
    return exists().where(
        OptOut.partner_id == Chat.partner_id,
        OptOut.handle == Chat.recipient_key,
        OptOut.opted_in_at.is_(None),
    )


async def partner_line_by_number(session: AsyncSession, partner_id: uuid.UUID, number: str) -> Line | None:
    return await session.scalar(select(Line).where(Line.number == number, Line.partner_id == partner_id))


async def partner_line_candidates(
    session: AsyncSession, partner_id: uuid.UUID, since: date
) -> list[Candidate]:
    """The partner's lines with when each was last used: its newest send since `since` (from the
    activity counters, no scan of messages) or its last suggestion, whichever is later."""
    lines = (
        await session.execute(
            select(Line, LineSuggestion.suggested_at)
            .outerjoin(LineSuggestion, LineSuggestion.line_id == Line.id)
            .where(Line.partner_id == partner_id)
        )
    ).all()
    sent = dict(
        (
            await session.execute(
                select(ChatActivity.line_id, func.max(ChatActivity.last_outbound_at))
                .where(ChatActivity.partner_id == partner_id, ChatActivity.day >= since)
                .group_by(ChatActivity.line_id)
            )
        ).all()
    )
    candidates = []
    for line, suggested_at in lines:
        times = [as_utc(t) for t in (suggested_at, sent.get(line.id)) if t is not None]
        candidates.append(Candidate(line, max(times) if times else None))
    return candidates


_RECORD_SUGGESTION = text(
    "INSERT INTO line_suggestions (line_id, suggested_at) VALUES (:line_id, :at) "
    "ON CONFLICT (line_id) DO UPDATE SET suggested_at = excluded.suggested_at"
).bindparams(bindparam("line_id", type_=Uuid()), bindparam("at", type_=DateTime(timezone=True)))


async def record_suggestion(session: AsyncSession, line_id: uuid.UUID, at: datetime) -> None:
    """Suggestions count as use (selection.py): one row per line, overwritten (one upsert, so two
    suggestions at once never collide)."""
    await session.execute(_RECORD_SUGGESTION, {"line_id": line_id, "at": at})


async def chat_on_line(
    session: AsyncSession, partner_id: uuid.UUID, line_id: uuid.UUID, key: str
) -> tuple[Chat, bool] | None:
    """The partner's chat on this line with exactly these recipients, and whether its (one-to-one)
    recipient is opted out."""
    query = select(Chat, _opted_out_clause()).where(
        Chat.partner_id == partner_id, Chat.line_id == line_id, Chat.recipient_key == key
    )
    row = (await session.execute(query)).first()
    return (row[0], bool(row[1])) if row else None


# Built once (it runs on every send); executed with the ids as parameters. Only the line's columns a
# send reads (not its JSON documents); raiseload keeps a later reader honest.
_SENDING_LINE_COLUMNS = (
    Line.id,
    Line.number,
    Line.partner_id,
    Line.status,
    Line.health_status,
    Line.line_type,
    Line.created_at,
)


def _recipient_blocked_clause() -> Exists:
    """Whether the chat's (one-to-one) recipient is on the chat's partner's blocklist. A group's key
    joins its members with commas, which no blockable handle contains: false for every group."""
    return exists().where(
        BlockedHandle.partner_id == Chat.partner_id, BlockedHandle.handle == Chat.recipient_key
    )


class SendContext(NamedTuple):
    chat: Chat
    line: Line
    opted_out: bool
    # Read with the chat for a one-to-one chat; a group's members are looked up by the guard.
    recipient_blocked: bool


_SEND_CONTEXT = (
    select(Chat, Line, _opted_out_clause(), _recipient_blocked_clause())
    .join(Line, Line.id == Chat.line_id)
    .options(load_only(*_SENDING_LINE_COLUMNS, raiseload=True))
    .where(
        Chat.id == bindparam("chat_id", type_=Uuid()),
        Chat.partner_id == bindparam("partner_id", type_=Uuid()),
    )
)


async def send_context(
    session: AsyncSession, partner_id: uuid.UUID, chat_id: uuid.UUID
) -> SendContext | None:
    """Everything a send into a chat decides on, in one statement: the chat, its line (read now, never
    cached, so a flag applies at once), whether the recipient is opted out and whether blocked."""
    row = (await session.execute(_SEND_CONTEXT, {"chat_id": chat_id, "partner_id": partner_id})).first()
    return SendContext(row[0], row[1], bool(row[2]), bool(row[3])) if row else None


_insert_message = insert(_messages)
_MESSAGE_COLUMNS = tuple(column.key for column in _messages.columns)


async def insert_message(session: AsyncSession, message: Message) -> None:
    """Insert a new message now, in one Core statement (compiled once per set of columns given, then
    cached), without the ORM unit of work: the object stays transient (the caller reads its
    attributes; nothing in the transaction loads it back).

    Unset columns are left out, so they are NULL as the ORM writes them (a JSON column given None
    would store JSON `null`). Rows the session holds unflushed (a chat just opened) go first.
    """
    if session.new:
        await session.flush()
    values = {key: value for key in _MESSAGE_COLUMNS if (value := getattr(message, key)) is not None}
    await session.execute(_insert_message, [values])


async def partner_chats_with(
    session: AsyncSession, partner_id: uuid.UUID, key: str
) -> list[tuple[Chat, Line, bool]]:
    """The partner's chats with exactly these recipients, on lines the partner still holds, most
    recently active first (activity from the newest counter row of each chat)."""
    last_day = select(func.max(ChatActivity.day)).where(ChatActivity.chat_id == Chat.id).scalar_subquery()
    query = (
        select(Chat, Line, _opted_out_clause())
        .join(Line, Line.id == Chat.line_id)
        .where(Chat.partner_id == partner_id, Chat.recipient_key == key, Line.partner_id == partner_id)
        .order_by(func.coalesce(last_day, func.date(Chat.created_at)).desc(), Chat.created_at.desc())
    )
    return [(chat, line, bool(opted)) for chat, line, opted in (await session.execute(query)).all()]


async def opted_out_handles(session: AsyncSession, partner_id: uuid.UUID, handles: Sequence[str]) -> set[str]:
    query = select(OptOut.handle).where(
        OptOut.partner_id == partner_id, OptOut.handle.in_(handles), OptOut.opted_in_at.is_(None)
    )
    return set((await session.scalars(query)).all())


async def handles_of(
    session: AsyncSession, chat_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[ChatHandle]]:
    ids = list(chat_ids)
    found: dict[uuid.UUID, list[ChatHandle]] = defaultdict(list)
    if not ids:
        return found
    query = (
        select(ChatHandle)
        .where(ChatHandle.chat_id.in_(ids))
        .order_by(ChatHandle.chat_id, ChatHandle.is_me.desc(), ChatHandle.handle)
    )
    for handle in (await session.scalars(query)).all():
        found[handle.chat_id].append(handle)
    return found


async def get_chat(
    session: AsyncSession, partner_id: uuid.UUID, chat_id: uuid.UUID
) -> tuple[Chat, Line] | None:
    query = (
        select(Chat, Line)
        .join(Line, Line.id == Chat.line_id)
        .where(Chat.id == chat_id, Chat.partner_id == partner_id)
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def list_chats(
    session: AsyncSession,
    partner_id: uuid.UUID,
    *,
    line_id: uuid.UUID | None,
    handle: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Chat, Line]]:
    """Newest first by creation, a keyset page (stable while new chats arrive)."""
    query = select(Chat, Line).join(Line, Line.id == Chat.line_id).where(Chat.partner_id == partner_id)
    if line_id is not None:
        query = query.where(Chat.line_id == line_id)
    if handle is not None:
        query = query.where(
            exists().where(
                ChatHandle.chat_id == Chat.id, ChatHandle.handle == handle, ChatHandle.is_me.is_(False)
            )
        )
    if after is not None:
        created, chat_id = after
        query = query.where(
            or_(Chat.created_at < created, and_(Chat.created_at == created, Chat.id < chat_id))
        )
    query = query.order_by(Chat.created_at.desc(), Chat.id.desc()).limit(limit)
    return [(chat, line) for chat, line in (await session.execute(query)).all()]


async def list_messages(
    session: AsyncSession, chat_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[Message]:
    """Newest first, a keyset page; deleted messages are not listed."""
    query = select(Message).where(Message.chat_id == chat_id, Message.deleted_at.is_(None))
    if after is not None:
        created, message_id = after
        query = query.where(
            or_(Message.created_at < created, and_(Message.created_at == created, Message.id < message_id))
        )
    query = query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
    return (await session.scalars(query)).all()


async def get_message(
    session: AsyncSession, partner_id: uuid.UUID, message_id: uuid.UUID
) -> tuple[Message, Chat, Line] | None:
    query = (
        select(Message, Chat, Line)
        .join(Chat, Chat.id == Message.chat_id)
        .join(Line, Line.id == Chat.line_id)
        .where(Message.id == message_id, Message.partner_id == partner_id, Message.deleted_at.is_(None))
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1], row[2]) if row else None


async def message_exists_in_chat(session: AsyncSession, chat_id: uuid.UUID, message_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Message.id).where(Message.id == message_id, Message.chat_id == chat_id)
    )
    return found is not None


async def attachments(
    session: AsyncSession, partner_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Attachment]:
    if not ids:
        return {}
    query = select(Attachment).where(Attachment.partner_id == partner_id, Attachment.id.in_(ids))
    return {attachment.id: attachment for attachment in (await session.scalars(query)).all()}


async def opt_out_of(session: AsyncSession, partner_id: uuid.UUID, handle: str) -> OptOut | None:
    return await session.scalar(
        select(OptOut).where(OptOut.partner_id == partner_id, OptOut.handle == handle)
    )


class ReportedMessage(NamedTuple):
    """An outbound message as a delivery report reads and changes it (chats/events.MessageFields)."""

    id: uuid.UUID
    direction: str
    delivery_status: str
    parts: list[dict[str, Any]]
    effect: dict[str, Any] | None
    reply_to: dict[str, Any] | None
    service: str
    preferred_service: str | None
    idempotency_key: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    failed_at: datetime | None
    failure_code: int | None
    failure_reason: str | None
    updated_at: datetime


class ReportedChat(NamedTuple):
    id: uuid.UUID
    partner_id: uuid.UUID
    is_group: bool
    owner_handle_id: uuid.UUID
    created_at: datetime
    service: str
    health_status: str
    health_updated_at: datetime
    opted_out_at: datetime | None


class ReportedLine(NamedTuple):
    id: uuid.UUID
    number: str
    line_type: str


class ReportTarget(NamedTuple):
    message: ReportedMessage
    chat: ReportedChat
    line: ReportedLine


# Plain rows, not ORM objects: reports arrive for every message sent, and building three ORM objects per
# report (and flushing them back) was a large share of a send's whole cost.
_REPORT_TARGETS = (
    select(
        *(_messages.c[name] for name in ReportedMessage._fields),
        *(_chats.c[name] for name in ReportedChat._fields),
        *(_lines.c[name] for name in ReportedLine._fields),
    )
    .select_from(
        _messages.join(_chats, _chats.c.id == _messages.c.chat_id).join(
            _lines, _lines.c.id == _chats.c.line_id
        )
    )
    .where(_messages.c.id.in_(bindparam("ids", expanding=True)))
)
_CHAT_AT = len(ReportedMessage._fields)
_LINE_AT = _CHAT_AT + len(ReportedChat._fields)


async def report_targets(
    session: AsyncSession, message_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ReportTarget]:
    """The messages delivery reports are about, with their chats and lines, in one query."""
    if not message_ids:
        return {}
    found = {}
    for row in await session.execute(_REPORT_TARGETS, {"ids": list(message_ids)}):
        message = ReportedMessage(*row[:_CHAT_AT])
        found[message.id] = ReportTarget(
            message, ReportedChat(*row[_CHAT_AT:_LINE_AT]), ReportedLine(*row[_LINE_AT:])
        )
    return found


# The columns a delivery report changes; each is bound as "new_<column>" (a bind parameter may not share
# its column's name in an UPDATE's SET).
_DELIVERY_STATE = (
    "delivery_status",
    "delivered_at",
    "read_at",
    "failed_at",
    "failure_code",
    "failure_reason",
    "updated_at",
)
_SET_DELIVERY_STATE = (
    update(_messages)
    .where(_messages.c.id == bindparam("message_id"))
    .values({column: bindparam(f"new_{column}") for column in _DELIVERY_STATE})
)


async def set_delivery_states(session: AsyncSession, messages: Sequence[ReportedMessage]) -> None:
    """Write the delivery state of several messages in one statement."""
    if not messages:
        return
    rows = [
        {
            "message_id": message.id,
            **{f"new_{column}": getattr(message, column) for column in _DELIVERY_STATE},
        }
        for message in messages
    ]
    await session.execute(_SET_DELIVERY_STATE, rows)


async def line_by_number(session: AsyncSession, number: str) -> Line | None:
    return await session.scalar(select(Line).where(Line.number == number))


async def clear_opt_out_marks(
    session: AsyncSession, partner_id: uuid.UUID, handle: str, at: datetime
) -> None:
    """The recipient opted back in: none of the partner's chats with them reads OPTED_OUT any more."""
    await session.execute(
        update(Chat)
        .where(Chat.partner_id == partner_id, Chat.recipient_key == handle, Chat.opted_out_at.is_not(None))
        .values(opted_out_at=None, health_updated_at=at)
    )


async def line_activity(session: AsyncSession, line_id: uuid.UUID, days: int) -> Sequence[LineActivity]:
    query = (
        select(LineActivity)
        .where(LineActivity.line_id == line_id)
        .order_by(LineActivity.day.desc())
        .limit(days)
    )
    return (await session.scalars(query)).all()


# --- the dashboard's line page ------------------------------------------------------------------------


async def line_daily_activity(
    session: AsyncSession, partner_id: uuid.UUID, line_id: uuid.UUID, since: date
) -> Sequence[LineActivity]:
    """The line's day rows since `since` from the partner's own conversations on it, oldest first.

    Summed from the partner's chats rather than read from line_activity: on the day a line changes owner
    its line_activity row holds both owners' counts, and neither may see the other's.
    (Detached rows: nothing here is written back.)
    """
    counters = ("outbound", "inbound", "failed", "opt_outs", "overrides", "new_conversations")
    query = (
        select(ChatActivity.day, *(func.sum(getattr(ChatActivity, name)) for name in counters))
        .where(
            ChatActivity.line_id == line_id, ChatActivity.partner_id == partner_id, ChatActivity.day >= since
        )
        .group_by(ChatActivity.day)
        .order_by(ChatActivity.day)
    )
    return [
        LineActivity(
            line_id=line_id,
            day=day,
            partner_id=partner_id,
            distinct_recipients=0,
            **{name: int(value or 0) for name, value in zip(counters, values, strict=True)},
        )
        for day, *values in (await session.execute(query)).all()
    ]


async def partner_chat_ids_active_since(
    session: AsyncSession, partner_id: uuid.UUID, line_id: uuid.UUID, since: date
) -> list[uuid.UUID]:
    """The partner's own chats on the line with activity since `since`: a previous owner's
    conversations on the same line are never among them."""
    query = (
        select(ChatActivity.chat_id)
        .where(
            ChatActivity.line_id == line_id,
            ChatActivity.partner_id == partner_id,
            ChatActivity.day >= since,
        )
        .distinct()
    )
    return list(await session.scalars(query))


WORST_FIRST = ("CRITICAL", "AT_RISK")


async def worst_chats(
    session: AsyncSession, partner_id: uuid.UUID, line_id: uuid.UUID, *, limit: int
) -> Sequence[Chat]:
    """The partner's chats on the line whose health is AT_RISK or CRITICAL: critical first, then the
    most recently changed."""
    critical_first = case((Chat.health_status == "CRITICAL", 0), else_=1)
    query = (
        select(Chat)
        .where(Chat.partner_id == partner_id, Chat.line_id == line_id, Chat.health_status.in_(WORST_FIRST))
        .order_by(critical_first, Chat.health_updated_at.desc(), Chat.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


# --- hand-over to the transport (chats/dispatch.py) -------------------------------------------

# Literal, as in the partial index's predicate: the planner uses ix_messages_awaiting_handover only then.
_awaiting_handover = text(AWAITING_HANDOVER)


async def stamp_handed_over(
    session: AsyncSession, message_ids: Sequence[uuid.UUID], at: datetime
) -> set[uuid.UUID]:
    """Record that a transport took these messages; returns the ids stamped now.

    Rows another transaction holds (a carrier report being applied, a recovery claim) are skipped, not
    waited for: waiting while holding other rows of the batch could deadlock with that transaction. The
    caller tries the skipped ones again.
    """
    lockable = taken(
        select(_messages.c.id).where(_messages.c.id.in_(message_ids), _messages.c.handed_over_at.is_(None))
    )
    stamped = await session.execute(
        update(_messages)
        .where(_messages.c.id.in_(lockable.scalar_subquery()))
        .values(handed_over_at=at)
        .returning(_messages.c.id)
    )
    return set(stamped.scalars())


async def claim_awaiting_handover(
    session: AsyncSession, *, committed_before: datetime, now: datetime, limit: int
) -> list[tuple[Message, Chat]]:
    """Claim (for this process, until `committed_before` catches up with `now`) outbound messages
    committed before `committed_before` that no transport has confirmed taking, oldest first.

    A write first (safe on SQLite); on PostgreSQL `FOR UPDATE SKIP LOCKED` lets concurrent passes in
    several processes split the rows instead of both taking them, and the claim time keeps a later pass
    away until it is as old as a fresh commit would have to be.
    """
    due = taken(
        select(_messages.c.id)
        .where(
            _awaiting_handover,
            _messages.c.created_at < committed_before,
            or_(
                _messages.c.handover_claimed_at.is_(None),
                _messages.c.handover_claimed_at < committed_before,
            ),
        )
        .order_by(_messages.c.created_at)
        .limit(limit)
    )
    claimed = await session.execute(
        update(_messages)
        .where(_messages.c.id.in_(due.scalar_subquery()))
        .values(handover_claimed_at=now)
        .returning(_messages.c.id)
    )
    ids = list(claimed.scalars())
    if not ids:
        return []
    query = (
        select(Message, Chat)
        .join(Chat, Chat.id == Message.chat_id)
        .where(Message.id.in_(ids))
        .order_by(Message.created_at)
    )
    return [(message, chat) for message, chat in (await session.execute(query)).all()]


async def count_awaiting_handover(session: AsyncSession, committed_before: datetime) -> int:
    query = (
        select(func.count())
        .select_from(_messages)
        .where(_awaiting_handover, _messages.c.created_at < committed_before)
    )
    return int(await session.scalar(query) or 0)


async def line_messages_since(
    session: AsyncSession, partner_id: uuid.UUID, line_id: uuid.UUID, since: datetime
) -> Sequence[tuple[str, datetime, str]]:
    """(direction, created_at, delivery status) of the partner's messages on the line since `since`:
    the hourly chart's input, read from the (line_id, created_at) index."""
    query = (
        select(Message.direction, Message.created_at, Message.delivery_status)
        .where(Message.line_id == line_id, Message.partner_id == partner_id, Message.created_at >= since)
        .order_by(Message.created_at)
    )
    return [
        (direction, created, status) for direction, created, status in (await session.execute(query)).all()
    ]


# --- blocked handles ---------------------------------------------------------------------------------


async def blocked_handles(
    session: AsyncSession, partner_id: uuid.UUID, limit: int
) -> Sequence[BlockedHandle]:
    query = (
        select(BlockedHandle)
        .where(BlockedHandle.partner_id == partner_id)
        .order_by(BlockedHandle.blocked_at.desc(), BlockedHandle.handle)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def count_blocked_handles(session: AsyncSession, partner_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(BlockedHandle).where(BlockedHandle.partner_id == partner_id)
    return int(await session.scalar(query) or 0)


async def blocked_handle(session: AsyncSession, partner_id: uuid.UUID, handle: str) -> BlockedHandle | None:
    query = select(BlockedHandle).where(
        BlockedHandle.partner_id == partner_id, BlockedHandle.handle == handle
    )
    return await session.scalar(query)


async def blocked_among(session: AsyncSession, partner_id: uuid.UUID, handles: Sequence[str]) -> set[str]:
    """Which of `handles` the partner blocked (one indexed lookup; the send guard's query)."""
    query = select(BlockedHandle.handle).where(
        BlockedHandle.partner_id == partner_id, BlockedHandle.handle.in_(handles)
    )
    return set((await session.scalars(query)).all())


async def delete_blocked_handle(session: AsyncSession, partner_id: uuid.UUID, handle: str) -> bool:
    result = await session.execute(
        delete(BlockedHandle).where(BlockedHandle.partner_id == partner_id, BlockedHandle.handle == handle)
    )
    return bool(getattr(result, "rowcount", 0))


# --- chat and message operations (operations.py) -----------------------------------------------------


async def reactions_of(
    session: AsyncSession, message_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Reaction]]:
    found: dict[uuid.UUID, list[Reaction]] = defaultdict(list)
    if not message_ids:
        return found
    query = (
        select(Reaction)
        .where(Reaction.message_id.in_(message_ids))
        .order_by(Reaction.message_id, Reaction.created_at, Reaction.id)
    )
    for reaction in (await session.scalars(query)).all():
        found[reaction.message_id].append(reaction)
    return found


async def find_reaction(
    session: AsyncSession, message_id: uuid.UUID, part_index: int, handle: str, kind: str, custom_emoji: str
) -> Reaction | None:
    query = select(Reaction).where(
        Reaction.message_id == message_id,
        Reaction.part_index == part_index,
        Reaction.handle == handle,
        Reaction.type == kind,
        Reaction.custom_emoji == custom_emoji,
    )
    return await session.scalar(query)


async def mark_inbound_read(session: AsyncSession, chat_id: uuid.UUID, at: datetime) -> int:
    result = await session.execute(
        update(Message)
        .where(Message.chat_id == chat_id, Message.direction == "inbound", Message.read_at.is_(None))
        .values(read_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def thread(
    session: AsyncSession,
    chat_id: uuid.UUID,
    root_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    newest_first: bool,
) -> Sequence[Message]:
    """The originator and its replies, oldest first (or newest first), a keyset page."""
    query = select(Message).where(
        Message.chat_id == chat_id,
        Message.deleted_at.is_(None),
        or_(Message.id == root_id, Message.reply_to_message_id == root_id),
    )
    if after is not None:
        created, message_id = after
        if newest_first:
            query = query.where(
                or_(
                    Message.created_at < created, and_(Message.created_at == created, Message.id < message_id)
                )
            )
        else:
            query = query.where(
                or_(
                    Message.created_at > created, and_(Message.created_at == created, Message.id > message_id)
                )
            )
    order = (
        (Message.created_at.desc(), Message.id.desc()) if newest_first else (Message.created_at, Message.id)
    )
    return (await session.scalars(query.order_by(*order).limit(limit))).all()
