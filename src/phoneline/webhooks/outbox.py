"""Write events into the outbox inside the caller's transaction.

A change that rolls back takes its events with it; a committed change always has its events.
A transaction that emitted events wakes the workers when it commits (jobs/wake.py), so delivery does not
wait for their next poll.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.jobs import wake
from phoneline.tracing import current_trace_id
from phoneline.webhooks.models import OutboxEvent

_insert_events = insert(cast(Table, OutboxEvent.__table__))


@dataclass(frozen=True)
class NewEvent:
    partner_id: uuid.UUID
    event_type: str
    data: dict[str, Any]
    line_id: uuid.UUID | None = None


async def emit(
    session: AsyncSession,
    *,
    partner_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    line_id: uuid.UUID | None = None,
) -> OutboxEvent:
    return emit_event(session, NewEvent(partner_id, event_type, data, line_id))


def emit_event(session: AsyncSession, new: NewEvent) -> OutboxEvent:
    """Add one event to the session; it is written with the session's next flush."""
    event = OutboxEvent(
        partner_id=new.partner_id,
        line_id=new.line_id,
        event_type=new.event_type,
        data=new.data,
        trace_id=current_trace_id(),
    )
    session.add(event)
    wake.work_created(session)
    return event


async def emit_many(session: AsyncSession, events: Sequence[NewEvent]) -> None:
    """Write several events now, in one statement and in order, without ORM objects (batch jobs)."""
    if not events:
        return
    trace_id = current_trace_id()
    rows = [
        {
            "partner_id": new.partner_id,
            "line_id": new.line_id,
            "event_type": new.event_type,
            "data": new.data,
            "trace_id": trace_id,
        }
        for new in events
    ]
    await session.execute(_insert_events, rows)
    wake.work_created(session)


def wake_after_commit(session: AsyncSession) -> None:
    """Wake the workers when the session commits (deliveries queued directly)."""
    wake.work_created(session)
