"""Write events into the outbox inside the caller's transaction.

A change that rolls back takes its events with it; a committed change always has its events.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.api.tracing import current_trace_id
from phoneline.webhooks.models import OutboxEvent


async def emit(
    session: AsyncSession,
    *,
    partner_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    line_id: uuid.UUID | None = None,
) -> OutboxEvent:
    event = OutboxEvent(
        partner_id=partner_id, line_id=line_id, event_type=event_type, data=data, trace_id=current_trace_id()
    )
    session.add(event)
    return event
