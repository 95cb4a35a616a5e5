"""Webhook payloads for chat and message events, written to the outbox in the caller's transaction.

Message events carry Linq's unified message payload (`MessageEventV2`); `message.failed` carries the
failure details; `chat.created` carries the chat as `GET /v3/chats/{id}` shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.chats import schemas
from phoneline.chats.models import Chat, Message
from phoneline.db.base import as_utc
from phoneline.lines.models import Line
from phoneline.webhooks import outbox

CHAT_CREATED = "chat.created"
MESSAGE_SENT = "message.sent"
MESSAGE_RECEIVED = "message.received"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_READ = "message.read"
MESSAGE_FAILED = "message.failed"


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat().replace("+00:00", "Z") if value is not None else None


def _owner_data(chat: Chat, line: Line) -> dict[str, Any]:
    # Built as plain JSON (this runs for every message event); the same fields as schemas.owner_handle.
    return {
        "id": str(chat.owner_handle_id),
        "handle": line.number,
        "joined_at": _iso(chat.created_at),
        "service": chat.service,
        "is_me": True,
        "left_at": None,
        "line_type": line.line_type,
        "status": "active",
    }


def message_data(
    message: Message,
    chat: Chat,
    line: Line,
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
                "updated_at": _iso(health.updated_at),
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
        "sent_at": _iso(message.sent_at),
        "delivered_at": _iso(message.delivered_at),
        "read_at": _iso(message.read_at),
    }


async def emit_message(
    session: AsyncSession,
    event_type: str,
    message: Message,
    chat: Chat,
    line: Line,
    sender: schemas.ChatHandleOut | None,
    doc_base: str,
) -> None:
    """`sender` None means our line sent the message."""
    await outbox.emit(
        session,
        partner_id=chat.partner_id,
        event_type=event_type,
        data=message_data(message, chat, line, sender, doc_base),
        line_id=line.id,
    )


async def emit_failed(session: AsyncSession, message: Message, chat: Chat, line: Line) -> None:
    data = {
        "code": message.failure_code,
        "reason": message.failure_reason,
        "failed_at": _iso(message.failed_at),
        "chat_id": str(chat.id),
        "message_id": str(message.id),
        "service": message.service,
        "preferred_service": message.preferred_service,
    }
    await outbox.emit(
        session, partner_id=chat.partner_id, event_type=MESSAGE_FAILED, data=data, line_id=line.id
    )


async def emit_chat_created(
    session: AsyncSession, chat_view: schemas.ChatOut, chat: Chat, line: Line
) -> None:
    await outbox.emit(
        session,
        partner_id=chat.partner_id,
        event_type=CHAT_CREATED,
        data=chat_view.model_dump(mode="json"),
        line_id=line.id,
    )
