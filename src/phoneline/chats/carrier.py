"""What carriers tell phoneline about chats: inbound messages (with the opt-out keywords), delivery
reports, other participants' typing and the contact cards people share with a line. The transport's ingest, the HTTP bridge and the CLI's `sim inbound` call these; services never
commit."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline import inputs
from phoneline.chats import (
    activity,
    blocklist,
    content,
    events,
    repository,
    schemas,
)
from phoneline.chats.activity import Activity
from phoneline.chats.handles import normalize_handle
from phoneline.chats.models import (
    Chat,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    OptOut,
    Reaction,
)
from phoneline.chats.optout import opt_out_keyword
from phoneline.chats.service import new_chat, recipients_of, uuid_or
from phoneline.clock import Clock
from phoneline.errors import (
    ChatNotFound,
    InvalidParameter,
    MessageNotFound,
    NotFound,
)
from phoneline.events import outbox
from phoneline.events.types import (
    ContactCardReceived,
    Event,
    MessageDelivered,
    MessageRead,
    MessageReceived,
    ReactionAdded,
    ReactionRemoved,
    TypingStarted,
    TypingStopped,
)
from phoneline.lines.models import Line
from phoneline.lines.numbers import to_e164
from phoneline.logging import get_logger
from phoneline.transport.base import (
    DeliveryReport,
    InboundMessage,
    ReactionReport,
    SharedContactCard,
    TypingReport,
)

log = get_logger("phoneline.chats")


async def _assigned_line(session: AsyncSession, line_number: str) -> tuple[Line, uuid.UUID]:
    number = to_e164(line_number, what="line number")  # the carrier: lenient
    line = await repository.line_by_number(session, number)
    if line is None or line.partner_id is None:
        raise NotFound(f"No line {number} is assigned to a partner.")
    return line, line.partner_id


async def receive_inbound(
    session: AsyncSession, clock: Clock, doc_base: str, inbound: InboundMessage
) -> Message:
    """Store an inbound message, apply the opt-out rule, bump counters, emit message.received."""
    line, partner_id = await _assigned_line(session, inbound.line_number)
    number = line.number
    handle = normalize_handle(inbound.sender, lenient=True)
    now = clock.now()
    created = False
    if await blocklist.is_blocked(session, partner_id, handle):
        # Linq: dropped before it reaches webhooks. Nothing is stored; the caller gets a message that
        # was never written (its id names nothing), so transports need no second kind of answer.
        log.info("inbound_dropped_blocked_sender", line=number)
        return Message(
            id=uuid.uuid4(), partner_id=partner_id, line_id=line.id, direction=Direction.INBOUND.value,
            kind=MessageKind.MESSAGE.value, sender_handle=handle, parts=inbound.parts,
            delivery_status=DeliveryStatus.RECEIVED.value, created_at=now, updated_at=now,
        )  # fmt: skip
    if inbound.chat_id is not None:
        found = await repository.get_chat(session, partner_id, uuid_or(inbound.chat_id, ChatNotFound()))
        if found is None or found[0].line_id != line.id:
            raise ChatNotFound()
        chat = found[0]
        if handle not in recipients_of(chat):
            raise InvalidParameter(f"{handle} is not a participant of chat {chat.id}.")
        handles = (await repository.handles_of(session, [chat.id]))[chat.id]
    else:
        existing = await repository.chat_on_line(session, partner_id, line.id, handle)
        if existing is None:
            chat, handles = new_chat(partner_id, line, [handle], now)
            session.add(chat)
            session.add_all(handles)
            created = True
        else:
            chat = existing[0]
            handles = (await repository.handles_of(session, [chat.id]))[chat.id]
    parts = inbound.parts or content.text_parts("")
    message = Message(
        id=uuid.uuid4(),
        chat_id=chat.id,
        partner_id=partner_id,
        line_id=line.id,
        direction=Direction.INBOUND.value,
        kind=MessageKind.MESSAGE.value,
        sender_handle=handle,
        parts=parts,
        service=inbound.service or chat.service,
        delivery_status=DeliveryStatus.RECEIVED.value,
        created_at=now,
        updated_at=now,
        sent_at=now,
    )
    session.add(message)
    opted_out_now = await _apply_opt_out_rule(session, chat, line, handle, content.plain_text(parts), now)
    sender = next(schemas.handle_out(h) for h in handles if h.handle == handle and not h.is_me)
    await session.flush()
    await activity.record(
        session, chat_id=chat.id, line_id=line.id, partner_id=partner_id, at=now,
        activity=Activity(inbound=1, opt_outs=int(opted_out_now)),
    )  # fmt: skip
    # The events after the counters, as a send writes them (service._write_outbound says why).
    if created:
        chat_view = schemas.chat_out(chat, handles, line.line_type, doc_base)
        await events.emit_chat_created(session, chat_view, chat, line)
    await events.emit_message(session, MessageReceived, message, chat, line, sender, doc_base)
    return message


async def receive_typing(session: AsyncSession, report: TypingReport) -> bool:
    """Another participant's typing: emits chat.typing_indicator.started or .stopped, nothing stored.
    Returns False when it is dropped (a blocked sender, as their messages are)."""
    line, partner_id = await _assigned_line(session, report.line_number)
    handle = normalize_handle(report.sender, lenient=True)
    if await blocklist.is_blocked(session, partner_id, handle):
        return False
    if report.chat_id is not None:
        found = await repository.get_chat(session, partner_id, uuid_or(report.chat_id, ChatNotFound()))
        chat = found[0] if found is not None and found[0].line_id == line.id else None
    else:
        existing = await repository.chat_on_line(session, partner_id, line.id, handle)
        chat = existing[0] if existing is not None else None
    if chat is None:
        # Linq shows typing only in a chat the line has; there is nothing to type into yet.
        raise ChatNotFound()
    handles = (await repository.handles_of(session, [chat.id]))[chat.id]
    typist = next((h for h in handles if h.handle == handle and not h.is_me), None)
    if typist is None:
        raise InvalidParameter(f"{handle} is not a participant of chat {chat.id}.")
    event = TypingStarted if report.started else TypingStopped
    document = {"chat_id": str(chat.id), "actor_handle": schemas.handle_out(typist).model_dump(mode="json")}
    outbox.emit(session, event(partner_id=partner_id, line_id=line.id, document=document))
    return True


async def receive_contact_card(session: AsyncSession, card: SharedContactCard) -> bool:
    """Someone shared their contact card with a line: emits contact_card.received (Linq: one event per
    person and line, whatever chats they share; the carrier reports again when the card changes).
    Nothing is stored. Returns False when it is dropped (a blocked sender)."""
    line, partner_id = await _assigned_line(session, card.line_number)
    handle = normalize_handle(card.sender, lenient=True)
    if await blocklist.is_blocked(session, partner_id, handle):
        return False
    if not card.first_name.strip():
        raise InvalidParameter("A shared contact card needs a `first_name`.")
    if max(len(card.first_name), len(card.last_name)) > inputs.MAX_NAME_LENGTH:
        raise InvalidParameter(
            f"A shared contact card's names are at most {inputs.MAX_NAME_LENGTH} characters."
        )
    if card.media_url is not None and len(card.media_url) > inputs.MAX_URL_LENGTH:
        raise InvalidParameter(f"`media_url` is at most {inputs.MAX_URL_LENGTH} characters.")
    document = {
        "first_name": card.first_name.strip(),
        "last_name": card.last_name.strip(),
        "owner_handle": line.number,
        "sender_handle": handle,
        "media_url": card.media_url,
    }
    outbox.emit(session, ContactCardReceived(partner_id=partner_id, line_id=line.id, document=document))
    return True


TAPBACKS = frozenset({"love", "like", "dislike", "laugh", "emphasize", "question", "custom"})


async def receive_reaction(session: AsyncSession, clock: Clock, report: ReactionReport) -> bool:
    """Another participant's tapback or custom emoji on a message of the line's chats: shown on the
    part's `reactions`, and reaction.added / reaction.removed with `is_from_me: false`. A repeat changes
    nothing and emits nothing. Returns False when it is dropped (a blocked sender)."""
    line, partner_id = await _assigned_line(session, report.line_number)
    handle = normalize_handle(report.sender, lenient=True)
    if await blocklist.is_blocked(session, partner_id, handle):
        return False
    if report.type not in TAPBACKS:
        raise InvalidParameter(f"`type` is one of {', '.join(sorted(TAPBACKS))}.")
    emoji = report.custom_emoji if report.type == "custom" else ""
    if report.type == "custom" and not emoji:
        raise InvalidParameter("A `custom` reaction needs `custom_emoji`.")
    if len(emoji) > inputs.MAX_CUSTOM_EMOJI_LENGTH:
        raise InvalidParameter(f"`custom_emoji` is at most {inputs.MAX_CUSTOM_EMOJI_LENGTH} characters.")
    found = await repository.get_message(session, partner_id, uuid_or(report.message_id, MessageNotFound()))
    if found is None or found[2].id != line.id:
        raise MessageNotFound()
    message, chat, _line = found
    if not 0 <= report.part_index < len(message.parts):
        raise InvalidParameter(f"The message has no part {report.part_index}.")
    handles = (await repository.handles_of(session, [chat.id]))[chat.id]
    reactor = next((h for h in handles if h.handle == handle and not h.is_me), None)
    if reactor is None:
        raise InvalidParameter(f"{handle} is not a participant of chat {chat.id}.")
    existing = await repository.find_reaction(
        session, message.id, report.part_index, handle, report.type, emoji
    )
    if report.added == (existing is not None):
        return True
    now = clock.now()
    if report.added:
        session.add(
            Reaction(
                id=uuid.uuid4(), message_id=message.id, partner_id=partner_id, part_index=report.part_index,
                type=report.type, custom_emoji=emoji, handle=handle, is_me=False, created_at=now,
            )
        )  # fmt: skip
    elif existing is not None:
        await session.delete(existing)
    await events.emit_reaction(
        session, ReactionAdded if report.added else ReactionRemoved, message, chat, line, report.type,
        emoji or None, report.part_index, schemas.handle_out(reactor).model_dump(mode="json"), now,
    )  # fmt: skip
    return True


async def _apply_opt_out_rule(
    session: AsyncSession, chat: Chat, line: Line, handle: str, text: str | None, now: datetime
) -> bool:
    """Linq: a keyword opts the sender out (never in a group); any later non-keyword message opts them
    back in, in whichever conversation it arrives. Returns whether this message opted them out."""
    keyword = opt_out_keyword(text)
    record = await repository.opt_out_of(session, chat.partner_id, handle)
    if keyword is not None:
        if chat.is_group:
            return False
        if record is None:
            record = OptOut(partner_id=chat.partner_id, handle=handle)
            session.add(record)
        record.chat_id, record.line_id, record.keyword = chat.id, line.id, keyword
        record.opted_out_at, record.opted_in_at = now, None
        chat.opted_out_at, chat.health_updated_at = now, now
        return True
    if record is not None and record.opted_in_at is None:
        record.opted_in_at = now
        await repository.clear_opt_out_marks(session, chat.partner_id, handle, now)
        chat.opted_out_at = None
    return False


_TRANSITIONS = {
    # Linq: a delivered report may still follow a failure.
    "delivered": {DeliveryStatus.SENT.value, DeliveryStatus.FAILED.value},
    "read": {DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value},
    "failed": {DeliveryStatus.SENT.value},
}


ReportTargets = dict[uuid.UUID, repository.ReportTarget]


async def load_report_targets(session: AsyncSession, reports: list[DeliveryReport]) -> ReportTargets:
    """The messages a batch of delivery reports is about, with their chats and lines (one query)."""
    ids = [uuid_or(report.message_id, MessageNotFound()) for report in reports]
    return await repository.report_targets(session, ids)


def _line_and_chat(rows: ReportTargets, report: DeliveryReport) -> tuple[uuid.UUID, uuid.UUID]:
    found = rows.get(uuid_or(report.message_id, MessageNotFound()))
    return (found.line.id, found.chat.id) if found is not None else (_NO_LINE, _NO_LINE)


_NO_LINE = uuid.UUID(int=0)


async def apply_delivery_reports(
    session: AsyncSession,
    clock: Clock,
    doc_base: str,
    reports: list[DeliveryReport],
    targets: ReportTargets | None = None,
) -> int:
    """Move outbound messages along sent → delivered → read, or to failed; returns how many changed.

    Reports for unknown messages, or that would move a message backwards, are ignored: carriers repeat
    and reorder reports. `targets` (from load_report_targets) lets a caller load them beforehand. The
    batch is written with one update and one insert of events, whatever its size.
    """
    rows = dict(targets if targets is not None else await load_report_targets(session, reports))
    changed: dict[uuid.UUID, repository.ReportedMessage] = {}
    emitted: list[Event] = []
    # By line, then chat, in id order (each message's reports keep theirs): every counter row and line
    # lock the batch takes is then taken in the same order as by any other batch, so two batches
    # cannot deadlock.
    for report in sorted(reports, key=lambda report: _line_and_chat(rows, report)):
        message_id = uuid_or(report.message_id, MessageNotFound())
        found = rows.get(message_id)
        if found is None or report.status not in _TRANSITIONS:
            continue
        message, chat, line = found
        if (
            message.direction != Direction.OUTBOUND.value
            or message.delivery_status not in _TRANSITIONS[report.status]
        ):
            continue
        at = report.at or clock.now()
        if report.status == "failed":
            message = message._replace(
                delivery_status=DeliveryStatus.FAILED.value, failed_at=at, updated_at=at,
                failure_code=report.code, failure_reason=report.reason,
            )  # fmt: skip
            emitted.append(events.failed_event(message, chat, line))
            await activity.record(
                session, chat_id=chat.id, line_id=line.id, partner_id=chat.partner_id, at=at,
                activity=Activity(failed=1),
            )  # fmt: skip
        elif report.status == "delivered":
            message = message._replace(
                delivery_status=DeliveryStatus.DELIVERED.value, delivered_at=at, updated_at=at
            )
            emitted.append(events.message_event(MessageDelivered, message, chat, line, None, doc_base))
        else:
            message = message._replace(
                delivery_status=DeliveryStatus.READ.value, read_at=at, updated_at=at,
                delivered_at=message.delivered_at or at,
            )  # fmt: skip
            emitted.append(events.message_event(MessageRead, message, chat, line, None, doc_base))
        # A later report in the batch about the same message moves on from this state.
        rows[message_id] = found._replace(message=message)
        changed[message_id] = message
    await repository.set_delivery_states(session, list(changed.values()))
    await outbox.emit_many(session, emitted)
    return len(emitted)
