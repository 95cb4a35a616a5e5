"""The record of handing outbound messages to the transport, and the recovery of lost hand-overs.

A send commits its message, then the dispatcher hands it to the transport (off the request path). When
`Transport.send` returns, the dispatcher stamps `messages.handed_over_at`. A message that stays `sent`
without the stamp was lost with the process that had it in memory (or its transport failed
unexpectedly); the recovery pass claims such messages once they are old enough and hands them over
again. Hand-over is therefore at least once: transports must accept a repeat of a message id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.chats import repository
from phoneline.chats.models import Chat, Message
from phoneline.transport.base import OutboundMessage


def outbound_message(
    message: Message, chat: Chat, recipients: Sequence[str] | None = None
) -> OutboundMessage:
    """What the transport gets for a stored outbound message (`recipients` default to the chat's)."""
    return OutboundMessage(
        message_id=str(message.id),
        chat_id=str(chat.id),
        partner_id=str(chat.partner_id),
        line_number=message.sender_handle,
        recipients=tuple(recipients if recipients is not None else chat.recipient_key.split(",")),
        parts=message.parts,
        service=message.service,
        kind=message.kind,
        is_group=chat.is_group,
        created_at=message.created_at,
        effect=message.effect,
        reply_to=message.reply_to,
    )


async def claim_lost(
    session: AsyncSession, *, committed_before: datetime, now: datetime, limit: int
) -> list[OutboundMessage]:
    """Claim up to `limit` messages committed before `committed_before` and never confirmed handed
    over, for this process to hand over again."""
    claimed = await repository.claim_awaiting_handover(
        session, committed_before=committed_before, now=now, limit=limit
    )
    return [outbound_message(message, chat) for message, chat in claimed]


async def mark_handed_over(session: AsyncSession, message_ids: Sequence[str], at: datetime) -> set[str]:
    """Stamp the messages a transport took; returns the ids stamped (the rest were busy: try again)."""
    stamped = await repository.stamp_handed_over(session, [uuid.UUID(i) for i in message_ids], at)
    return {str(message_id) for message_id in stamped}


async def count_overdue(session: AsyncSession, committed_before: datetime) -> int:
    """Messages committed before `committed_before` that no transport has confirmed taking."""
    return await repository.count_awaiting_handover(session, committed_before)
