"""Chat and message events (events/types.py) with their Linq payloads, written to the outbox in the
caller's transaction.

Message events carry Linq's unified message payload (`MessageEventV2`); `message.failed` carries the
failure details; `chat.created` carries the chat as `GET /v3/chats/{id}` shows it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.chats import schemas
from phoneline.events import outbox
from phoneline.events.types import (
    ChatCreated,
    GroupIconUpdated,
    GroupNameUpdated,
    MessageDelivered,
    MessageEdited,
    MessageFailed,
    MessageRead,
    MessageReceived,
    MessageSent,
    ParticipantAdded,
    ParticipantRemoved,
    ReactionAdded,
    ReactionRemoved,
    iso,
)

MessageEvent = type[MessageSent | MessageReceived | MessageDelivered | MessageRead]


# What the payloads read. ORM rows (Message, Chat, Line) fit, and so do the plain rows batch jobs load
# (chats/repository.py, delivery reports) without building ORM objects.


class MessageFields(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def direction(self) -> str: ...
    @property
    def parts(self) -> list[dict[str, Any]]: ...
    @property
    def service(self) -> str: ...
    @property
    def preferred_service(self) -> str | None: ...
    @property
    def effect(self) -> dict[str, Any] | None: ...
    @property
    def reply_to(self) -> dict[str, Any] | None: ...
    @property
    def idempotency_key(self) -> str | None: ...
    @property
    def sent_at(self) -> datetime | None: ...
    @property
    def delivered_at(self) -> datetime | None: ...
    @property
    def read_at(self) -> datetime | None: ...
    @property
    def failed_at(self) -> datetime | None: ...
    @property
    def failure_code(self) -> int | None: ...
    @property
    def failure_reason(self) -> str | None: ...


class ChatFields(schemas.ChatHealthFields, Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def partner_id(self) -> uuid.UUID: ...
    @property
    def owner_handle_id(self) -> uuid.UUID: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def service(self) -> str: ...


class LineFields(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def number(self) -> str: ...
    @property
    def line_type(self) -> str: ...


def _owner_data(chat: ChatFields, line: LineFields) -> dict[str, Any]:
    # Built as plain JSON (this runs for every message event); the same fields as schemas.owner_handle.
    return {
        "id": str(chat.owner_handle_id),
        "handle": line.number,
        "joined_at": iso(chat.created_at),
        "service": chat.service,
        "is_me": True,
        "left_at": None,
        "line_type": line.line_type,
        "status": "active",
    }


def message_data(
    message: MessageFields,
    chat: ChatFields,
    line: LineFields,
    sender: schemas.ChatHandleOut | None,
    doc_base: str,
) -> dict[str, Any]:
    """Linq's unified message payload; `sender` None means our line sent it."""
    owner = _owner_data(chat, line)
    health = schemas.chat_health(chat, doc_base)
    return {
        "id": str(message.id),
        "chat": {
            "id": str(chat.id),
            "is_group": chat.is_group,
            "health_status": {
                "status": health.status,
                "doc_url": health.doc_url,
                "updated_at": iso(health.updated_at),
            },
            "owner_handle": owner,
        },
        "direction": message.direction,
        "parts": message.parts,
        "sender_handle": owner if sender is None else sender.model_dump(mode="json"),
        "service": message.service,
        "preferred_service": message.preferred_service,
        "effect": message.effect,
        "reply_to": message.reply_to,
        "idempotency_key": message.idempotency_key,
        "sent_at": iso(message.sent_at),
        "delivered_at": iso(message.delivered_at),
        "read_at": iso(message.read_at),
    }


def message_event(
    event: MessageEvent,
    message: MessageFields,
    chat: ChatFields,
    line: LineFields,
    sender: schemas.ChatHandleOut | None,
    doc_base: str,
) -> MessageSent | MessageReceived | MessageDelivered | MessageRead:
    """`sender` None means our line sent the message."""
    return event(
        partner_id=chat.partner_id,
        line_id=line.id,
        document=message_data(message, chat, line, sender, doc_base),
    )


async def emit_message(
    session: AsyncSession,
    event: MessageEvent,
    message: MessageFields,
    chat: ChatFields,
    line: LineFields,
    sender: schemas.ChatHandleOut | None,
    doc_base: str,
) -> None:
    """`sender` None means our line sent the message. Written now (outbox.write): after the message's
    activity counters, never before them."""
    await outbox.write(session, message_event(event, message, chat, line, sender, doc_base))


def failed_event(message: MessageFields, chat: ChatFields, line: LineFields) -> MessageFailed:
    return MessageFailed(
        partner_id=chat.partner_id,
        line_id=line.id,
        chat_id=chat.id,
        message_id=message.id,
        code=message.failure_code,
        reason=message.failure_reason,
        failed_at=message.failed_at,
        service=message.service,
        preferred_service=message.preferred_service,
    )


async def emit_chat_created(
    session: AsyncSession, chat_view: schemas.ChatOut, chat: ChatFields, line: LineFields
) -> None:
    """Written now, like a message event: after the first message's activity counters."""
    await outbox.write(
        session,
        ChatCreated(partner_id=chat.partner_id, line_id=line.id, document=chat_view.model_dump(mode="json")),
    )


# --- chat and message operations (operations.py); one function per event, for the typed events ----

MESSAGE_EDITED = MessageEdited
REACTION_ADDED = ReactionAdded
REACTION_REMOVED = ReactionRemoved
PARTICIPANT_ADDED = ParticipantAdded
PARTICIPANT_REMOVED = ParticipantRemoved
GROUP_NAME_UPDATED = GroupNameUpdated
GROUP_ICON_UPDATED = GroupIconUpdated


async def emit_message_edited(
    session: AsyncSession,
    message: MessageFields,
    chat: ChatFields,
    line: LineFields,
    part_index: int,
    text: str,
    doc_base: str,
    at: datetime,
) -> None:
    base = message_data(message, chat, line, None, doc_base)
    data = {
        "id": base["id"],
        "chat": base["chat"],
        "direction": message.direction,
        "edited_at": iso(at),
        "part": {"index": part_index, "text": text},
        "sender_handle": base["sender_handle"],
    }
    outbox.emit(session, MessageEdited(partner_id=chat.partner_id, line_id=line.id, document=data))


async def emit_reaction(
    session: AsyncSession,
    event: type[ReactionAdded | ReactionRemoved],
    message: MessageFields,
    chat: ChatFields,
    line: LineFields,
    reaction_type: str,
    custom_emoji: str | None,
    part_index: int,
    actor: dict[str, Any],
    at: datetime,
) -> None:
    """`actor` is the reacting participant's ChatHandle document: our line's (`is_me`) or another's."""
    data = {
        "chat_id": str(chat.id),
        "message_id": str(message.id),
        "part_index": part_index,
        "reaction_type": reaction_type,
        "custom_emoji": custom_emoji,
        "is_from_me": bool(actor.get("is_me")),
        "from": actor.get("handle", line.number),
        "from_handle": actor,
        "reacted_at": iso(at),
        "sticker": None,
    }
    outbox.emit(session, event(partner_id=chat.partner_id, line_id=line.id, document=data))


async def emit_participant(
    session: AsyncSession,
    event: type[ParticipantAdded | ParticipantRemoved],
    chat: ChatFields,
    line: LineFields,
    handle: str,
    participant: dict[str, Any],
    at: datetime,
) -> None:
    moment = "added_at" if event is ParticipantAdded else "removed_at"
    data = {"chat_id": str(chat.id), "handle": handle, "participant": participant, moment: iso(at)}
    outbox.emit(session, event(partner_id=chat.partner_id, line_id=line.id, document=data))


async def emit_group_changed(
    session: AsyncSession,
    event: type[GroupNameUpdated | GroupIconUpdated],
    chat: ChatFields,
    line: LineFields,
    old_value: str | None,
    new_value: str | None,
    changed_by: dict[str, Any],
    at: datetime,
) -> None:
    data = {
        "chat_id": str(chat.id),
        "old_value": old_value,
        "new_value": new_value,
        "changed_by_handle": changed_by,
        "updated_at": iso(at),
    }
    outbox.emit(session, event(partner_id=chat.partner_id, line_id=line.id, document=data))
