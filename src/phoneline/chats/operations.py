"""Chat and message operations besides sending: typing, read, group name and icon, leave, sharing the
contact card, editing, deleting and reacting. Each goes through the carrier (`Transport.act`).

Every operation runs in three steps: the guards and the lookup in a short transaction (another
partner's chat or message is 404; one that would create activity on a line that cannot send is
403 / 2027, like a send), then the carrier carries it out outside any transaction (a refusal is 503 /
4004 and nothing is recorded), then its state and its webhook events are written in one transaction.
Each event is emitted from one place (`chats/events.py`), for the move to typed events.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from phoneline.chats import events, repository, schemas
from phoneline.chats.handles import normalize_handle, recipient_key
from phoneline.chats.models import Chat, ChatHandle, Direction, Message, Reaction
from phoneline.clock import Clock
from phoneline.db.base import as_utc
from phoneline.errors import (
    AccessDenied,
    ApiError,
    ChatNotFound,
    Conflict,
    InvalidMessageContent,
    InvalidParameter,
    LineNotEligible,
    MessageNotFound,
    NotFound,
    ServiceUnavailable,
)
from phoneline.lines import contact_cards
from phoneline.lines.models import Line, LineStatus
from phoneline.net.outbound import check_url
from phoneline.principal import Principal
from phoneline.tracing import current_trace_id
from phoneline.transport.base import ChatAction, Transport, TransportError

MAX_THREAD_PAGE = 100
# As `to` on POST /v3/chats (schemas.CreateChatIn).
MAX_GROUP_RECIPIENTS = 32


class CannotUpdateDm(ApiError):
    # Linq's table: 1006 cannot_update_dm.
    status, code, message = 400, 1006, "Only group chats can be changed this way."


@dataclass(frozen=True)
class Carrier:
    """What an operation needs besides the caller: one per request, from the app's runtime."""

    sessions: async_sessionmaker[AsyncSession]
    transport: Transport
    clock: Clock
    doc_base: str
    allow_private: bool = False


def _uuid(value: str, missing: ApiError) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise missing from None


def _recipients(chat: Chat) -> tuple[str, ...]:
    return tuple(chat.recipient_key.split(","))


def _action(kind: str, chat: Chat, line: Line, **data: Any) -> ChatAction:
    return ChatAction(
        kind=kind,
        chat_id=str(chat.id),
        partner_id=str(chat.partner_id),
        line_number=line.number,
        recipients=_recipients(chat),
        is_group=chat.is_group,
        data=data,
    )


def _require_active(chat: Chat, line: Line) -> None:
    # Linq: reacting, typing and group actions are new activity, refused before anything happens.
    if line.status != LineStatus.ACTIVE.value:
        raise LineNotEligible(f"{line.number} is {line.status} and cannot act in chats until it is ACTIVE.")
    if chat.left_at is not None:
        raise InvalidParameter("Your line left this chat; nothing more can be done in it.")


async def _chat(session: AsyncSession, caller: Principal, chat_id: str) -> tuple[Chat, Line]:
    found = await repository.get_chat(session, caller.partner_id, _uuid(chat_id, ChatNotFound()))
    if found is None or found[1].partner_id != caller.partner_id:
        raise ChatNotFound()
    return found


async def _message(session: AsyncSession, caller: Principal, message_id: str) -> tuple[Message, Chat, Line]:
    found = await repository.get_message(session, caller.partner_id, _uuid(message_id, MessageNotFound()))
    if found is None or found[2].partner_id != caller.partner_id:
        raise MessageNotFound()
    return found


async def _carry_out(carrier: Carrier, action: ChatAction) -> None:
    try:
        await carrier.transport.act(action)
    except TransportError as error:
        raise ServiceUnavailable(f"The carrier could not carry out {action.kind}: {error}.") from None


def _ack(message: str, status: str = "ok") -> schemas.OperationOut:
    return schemas.OperationOut(message=message, status=status, trace_id=current_trace_id() or "")


def _owner(chat: Chat, line: Line) -> dict[str, Any]:
    return schemas.owner_handle(chat, line.number, line.line_type).model_dump(mode="json")


# --- chats -------------------------------------------------------------------------------------------


async def typing(carrier: Carrier, caller: Principal, chat_id: str, *, started: bool) -> None:
    """POST/DELETE /v3/chats/{id}/typing: our line's typing indicator, one-to-one chats only (Linq: a
    group is 403). Linq emits the typing events for the other participants only: nothing is recorded."""
    async with carrier.sessions() as session:
        chat, line = await _chat(session, caller, chat_id)
        _require_active(chat, line)
        if chat.is_group:
            raise AccessDenied("Typing indicators are not supported in group chats.")
    await _carry_out(carrier, _action("typing.started" if started else "typing.stopped", chat, line))


async def mark_read(carrier: Carrier, caller: Principal, chat_id: str) -> None:
    """POST /v3/chats/{id}/read: a read receipt for the chat; its inbound messages read `is_read`."""
    async with carrier.sessions() as session:
        chat, line = await _chat(session, caller, chat_id)
    await _carry_out(carrier, _action("chat.read", chat, line))
    async with carrier.sessions() as session:
        await repository.mark_inbound_read(session, chat.id, carrier.clock.now())
        await session.commit()


async def update_chat(
    carrier: Carrier, caller: Principal, chat_id: str, body: schemas.ChatUpdateIn
) -> schemas.ChatUpdatedOut:
    """PUT /v3/chats/{id}: a group's name and icon (1006 for a one-to-one chat)."""
    fields = body.model_fields_set & {"display_name", "group_chat_icon"}
    if not fields:
        raise InvalidParameter("Give `display_name` or `group_chat_icon`.")
    async with carrier.sessions() as session:
        chat, line = await _chat(session, caller, chat_id)
        if not chat.is_group:
            raise CannotUpdateDm("Only a group chat has a name or an icon to change.")
        _require_active(chat, line)
    changes = {field: getattr(body, field) for field in sorted(fields)}
    if changes.get("group_chat_icon"):
        # Handed on to the carrier and every participant's device: the outbound-URL rule applies.
        changes["group_chat_icon"] = str(
            check_url(
                changes["group_chat_icon"], allow_private=carrier.allow_private, what="`group_chat_icon`"
            )
        )
    await _carry_out(carrier, _action("chat.updated", chat, line, **changes))
    async with carrier.sessions() as session:
        chat, line = await _chat(session, caller, chat_id)
        now = carrier.clock.now()
        owner = _owner(chat, line)
        if "display_name" in changes and changes["display_name"] != chat.display_name:
            await events.emit_group_changed(
                session,
                events.GROUP_NAME_UPDATED,
                chat,
                line,
                chat.display_name,
                changes["display_name"],
                owner,
                now,
            )
            chat.display_name = changes["display_name"]
        if "group_chat_icon" in changes and changes["group_chat_icon"] != chat.group_chat_icon:
            await events.emit_group_changed(
                session, events.GROUP_ICON_UPDATED, chat, line, chat.group_chat_icon,
                changes["group_chat_icon"], owner, now,
            )  # fmt: skip
            chat.group_chat_icon = changes["group_chat_icon"]
        chat.updated_at = now
        await session.commit()
    return schemas.ChatUpdatedOut(chat_id=str(chat.id), status="updated")


async def leave(carrier: Carrier, caller: Principal, chat_id: str) -> schemas.OperationOut:
    """POST /v3/chats/{id}/leave: our line leaves a group (1006 for a one-to-one chat)."""
    async with carrier.sessions() as session:
        chat, line = await _chat(session, caller, chat_id)
        if not chat.is_group:
            raise CannotUpdateDm("Only a group chat can be left.")
        _require_active(chat, line)
    await _carry_out(carrier, _action("chat.left", chat, line))
    async with carrier.sessions() as session:
        chat, line = await _chat(session, caller, chat_id)
        now = carrier.clock.now()
        chat.left_at, chat.updated_at = now, now
        await events.emit_participant(
            session, events.PARTICIPANT_REMOVED, chat, line, line.number, _owner(chat, line), now
        )
        await session.commit()
    return _ack("Left the chat.", "left")


MIN_GROUP_RECIPIENTS = 2


async def change_participant(
    carrier: Carrier, caller: Principal, chat_id: str, body: schemas.ParticipantIn, *, add: bool
) -> schemas.OperationOut:
    """POST/DELETE /v3/chats/{id}/participants: a group's members (1006 for a one-to-one chat). The
    chat's recipient set follows, so `POST /v3/chats` with the new set finds this chat."""
    handle = normalize_handle(body.handle)
    async with carrier.sessions() as session:
        chat, line = await _chat(session, caller, chat_id)
        if not chat.is_group:
            raise CannotUpdateDm("Participants can only be added to or removed from a group chat.")
        _require_active(chat, line)
        members = list(_recipients(chat))
        if handle == line.number:
            raise InvalidParameter("Your own line is not a participant to add or remove; use leave.")
        if add and handle in members:
            raise InvalidParameter(f"{handle} is already in this chat.")
        if not add and handle not in members:
            raise InvalidParameter(f"{handle} is not in this chat.")
        if not add and len(members) <= MIN_GROUP_RECIPIENTS:
            raise InvalidParameter(
                f"A group keeps at least {MIN_GROUP_RECIPIENTS} participants besides your line."
            )
        if add and len(members) >= MAX_GROUP_RECIPIENTS:
            raise InvalidParameter(f"A group has at most {MAX_GROUP_RECIPIENTS} participants.")
    kind = "participant.added" if add else "participant.removed"
    await _carry_out(carrier, _action(kind, chat, line, handle=handle))
    async with carrier.sessions() as session:
        chat, line = await _chat(session, caller, chat_id)
        now = carrier.clock.now()
        handles = (await repository.handles_of(session, [chat.id]))[chat.id]
        row = next((h for h in handles if h.handle == handle and not h.is_me), None)
        if add:
            if row is None:
                row = ChatHandle(
                    id=uuid.uuid4(),
                    chat_id=chat.id,
                    handle=handle,
                    is_me=False,
                    service=chat.service,
                    joined_at=now,
                )
                session.add(row)
            row.status, row.left_at = "active", None
            members = sorted({*_recipients(chat), handle})
        else:
            if row is not None:
                row.status, row.left_at = "removed", now
            members = sorted(set(_recipients(chat)) - {handle})
        chat.recipient_key, chat.updated_at = recipient_key(members), now
        participant = (
            schemas.handle_out(row).model_dump(mode="json") if row is not None else {"handle": handle}
        )
        await events.emit_participant(
            session,
            events.PARTICIPANT_ADDED if add else events.PARTICIPANT_REMOVED,
            chat,
            line,
            handle,
            participant,
            now,
        )
        try:
            await session.commit()
        except IntegrityError:
            raise Conflict("Another chat on this line already has exactly these participants.") from None
    return _ack(f"{handle} {'added' if add else 'removed'}.", "added" if add else "removed")


async def share_contact_card(carrier: Carrier, caller: Principal, chat_id: str) -> None:
    """POST /v3/chats/{id}/share_contact_card: the line's card (lines/contact_cards.py) to the chat."""
    async with carrier.sessions() as session:
        chat, line = await _chat(session, caller, chat_id)
        _require_active(chat, line)
        card = await contact_cards.card_for(session, caller.partner_id, line)
        if card is None:
            raise NotFound(f"{line.number} has no contact card; POST /v3/contact_card first.")
        data = {"first_name": card.first_name, "last_name": card.last_name, "image_url": card.image_url}
    await _carry_out(carrier, _action("contact_card.shared", chat, line, contact_card=data))


# --- messages ----------------------------------------------------------------------------------------


async def edit(
    carrier: Carrier, caller: Principal, message_id: str, body: schemas.MessageEditIn
) -> schemas.MessageOut:
    """PATCH /v3/messages/{id}: the text of one of our text parts; `message.edited`."""
    async with carrier.sessions() as session:
        message, chat, line = await _message(session, caller, message_id)
        if message.direction != Direction.OUTBOUND.value:
            raise InvalidParameter("Only a message your line sent can be edited.")
        parts = message.parts
        if body.part_index >= len(parts) or parts[body.part_index].get("type") != "text":
            raise InvalidMessageContent(f"Part {body.part_index} is not a text part of this message.")
        _require_active(chat, line)
    edit_data = {"message_id": str(message.id), "part_index": body.part_index, "text": body.text}
    await _carry_out(carrier, _action("message.edited", chat, line, **edit_data))
    async with carrier.sessions() as session:
        message, chat, line = await _message(session, caller, message_id)
        now = carrier.clock.now()
        parts = [dict(part) for part in message.parts]
        parts[body.part_index]["value"] = body.text
        message.parts, message.edited_at, message.updated_at = parts, now, now
        await events.emit_message_edited(
            session, message, chat, line, body.part_index, body.text, carrier.doc_base, now
        )
        await session.commit()
        return await render_message(session, message, chat, line)


async def delete(carrier: Carrier, caller: Principal, message_id: str) -> None:
    """DELETE /v3/messages/{id}: unsent on the carrier; hidden from every read, the row kept."""
    async with carrier.sessions() as session:
        message, chat, line = await _message(session, caller, message_id)
        if message.direction != Direction.OUTBOUND.value:
            raise InvalidParameter("Only a message your line sent can be deleted.")
    await _carry_out(carrier, _action("message.deleted", chat, line, message_id=str(message.id)))
    async with carrier.sessions() as session:
        message, chat, line = await _message(session, caller, message_id)
        message.deleted_at = carrier.clock.now()
        await session.commit()


async def react(
    carrier: Carrier, caller: Principal, message_id: str, body: schemas.ReactionIn
) -> schemas.OperationOut:
    """POST /v3/messages/{id}/reactions: add or remove our line's tapback or custom emoji."""
    if body.type == "sticker":
        raise InvalidParameter("Sticker reactions are not carried by phoneline's transports; use a tapback.")
    emoji = (body.custom_emoji or body.emoji or "") if body.type == "custom" else ""
    if body.type == "custom" and not emoji:
        raise InvalidParameter("A `custom` reaction needs `custom_emoji`.")
    async with carrier.sessions() as session:
        message, chat, line = await _message(session, caller, message_id)
        if body.part_index >= len(message.parts):
            raise InvalidParameter(f"The message has no part {body.part_index}.")
        _require_active(chat, line)
        existing = await repository.find_reaction(
            session, message.id, body.part_index, line.number, body.type, emoji
        )
        if (body.operation == "add") == (existing is not None):
            return _ack("Nothing to change.")
    kind = "reaction.added" if body.operation == "add" else "reaction.removed"
    data = {
        "message_id": str(message.id),
        "part_index": body.part_index,
        "type": body.type,
        "custom_emoji": emoji or None,
    }
    await _carry_out(carrier, _action(kind, chat, line, **data))
    async with carrier.sessions() as session:
        message, chat, line = await _message(session, caller, message_id)
        now = carrier.clock.now()
        existing = await repository.find_reaction(
            session, message.id, body.part_index, line.number, body.type, emoji
        )
        if body.operation == "add" and existing is None:
            session.add(
                Reaction(
                    id=uuid.uuid4(),
                    message_id=message.id,
                    partner_id=chat.partner_id,
                    part_index=body.part_index,
                    type=body.type,
                    custom_emoji=emoji,
                    handle=line.number,
                    is_me=True,
                    created_at=now,
                )
            )
        elif body.operation == "remove" and existing is not None:
            await session.delete(existing)
        await events.emit_reaction(
            session, events.REACTION_ADDED if body.operation == "add" else events.REACTION_REMOVED,
            message, chat, line, body.type, emoji or None, body.part_index, _owner(chat, line), now,
        )  # fmt: skip
        await session.commit()
    return _ack("Reaction added." if body.operation == "add" else "Reaction removed.")


async def thread(
    session: AsyncSession,
    caller: Principal,
    message_id: str,
    *,
    limit: int | None,
    cursor: tuple[datetime, uuid.UUID] | None,
    order: str | None,
) -> tuple[list[schemas.MessageOut], Message | None]:
    """GET /v3/messages/{id}/thread: the originator and its replies; returns a page and its last row
    when there is a next page."""
    page_size = 20 if limit is None else limit
    if not 1 <= page_size <= MAX_THREAD_PAGE:
        raise InvalidParameter(f"`limit` must be between 1 and {MAX_THREAD_PAGE}.")
    if order not in (None, "asc", "desc"):
        raise InvalidParameter("`order` must be asc or desc.")
    message, chat, line = await _message(session, caller, message_id)
    root = message
    for _ in range(50):  # reply chains are short; a loop in stored data must not hang a read
        if root.reply_to_message_id is None:
            break
        parent = await repository.get_message(session, caller.partner_id, root.reply_to_message_id)
        if parent is None or parent[1].id != chat.id:
            break
        root = parent[0]
    rows = list(
        await repository.thread(
            session, chat.id, root.id, after=cursor, limit=page_size + 1, newest_first=order == "desc"
        )
    )
    page = rows[:page_size]
    rendered = await render_messages(session, page, chat, line)
    return rendered, page[-1] if len(rows) > page_size else None


# --- rendering with reactions ------------------------------------------------------------------------


def _sender(message: Message, chat: Chat, line: Line, handles: list[ChatHandle]) -> schemas.ChatHandleOut:
    if message.direction == Direction.OUTBOUND.value:
        return schemas.owner_handle(chat, line.number, line.line_type)
    for handle in handles:
        if handle.handle == message.sender_handle and not handle.is_me:
            return schemas.handle_out(handle)
    return schemas.ChatHandleOut.model_validate(
        {
            "id": uuid.uuid5(chat.id, message.sender_handle),
            "handle": message.sender_handle,
            "joined_at": as_utc(chat.created_at),
            "service": chat.service,
            "is_me": False,
        }
    )


def reactions_by_part(
    reactions: Sequence[Reaction], chat: Chat, line: Line, handles: list[ChatHandle]
) -> dict[int, list[dict[str, Any]]]:
    by_handle = {h.handle: h for h in handles if not h.is_me}
    owner = schemas.owner_handle(chat, line.number, line.line_type).model_dump(mode="json")
    grouped: dict[int, list[dict[str, Any]]] = {}
    for reaction in reactions:
        who = by_handle.get(reaction.handle)
        handle = owner if reaction.is_me or who is None else schemas.handle_out(who).model_dump(mode="json")
        grouped.setdefault(reaction.part_index, []).append(
            {
                "id": str(reaction.id),
                "handle": handle,
                "is_me": reaction.is_me,
                "type": reaction.type,
                "custom_emoji": reaction.custom_emoji or None,
                "sticker": None,
            }
        )
    return grouped


async def render_messages(
    session: AsyncSession, messages: Sequence[Message], chat: Chat, line: Line
) -> list[schemas.MessageOut]:
    handles = (await repository.handles_of(session, [chat.id]))[chat.id]
    reactions = await repository.reactions_of(session, [m.id for m in messages])
    return [
        schemas.message_out(
            m, _sender(m, chat, line, handles), reactions_by_part(reactions[m.id], chat, line, handles)
        )
        for m in messages
    ]


async def render_message(
    session: AsyncSession, message: Message, chat: Chat, line: Line
) -> schemas.MessageOut:
    return (await render_messages(session, [message], chat, line))[0]
