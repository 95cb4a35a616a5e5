"""Write events into the outbox inside the caller's transaction.

A change that rolls back takes its events with it; a committed change always has its events. A
transaction that emitted events wakes the workers when it commits (jobs/wake.py), so delivery does not
wait for their next poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.events.models import OutboxEvent
from phoneline.events.types import Event
from phoneline.jobs import wake
from phoneline.tracing import current_trace_id

_insert_events = insert(cast(Table, OutboxEvent.__table__))


def emit(session: AsyncSession, event: Event) -> OutboxEvent:
    """Add one event to the session; it is written with the session's next flush."""
    row = OutboxEvent(
        partner_id=event.partner_id,
        line_id=event.line_id,
        event_type=event.event_type,
        data=event.data(),
        trace_id=current_trace_id(),
    )
    session.add(row)
    wake.work_created(session, announced_by_database=True)
    return row


async def write(session: AsyncSession, event: Event) -> None:
    """Write one event now, in one statement without an ORM object (the send path).

    On PostgreSQL the insert takes the line's commit-order lock (migrations 0007 and 0010) until the commit, so
    a transaction writes its event after its row locks: the counter rows a send upserts are also
    claimed by the re-scoring worker, which takes that lock for its own events while holding them.
    """
    row = {
        "partner_id": event.partner_id,
        "line_id": event.line_id,
        "event_type": event.event_type,
        "data": event.data(),
        "trace_id": current_trace_id(),
    }
    await session.execute(_insert_events, [row])
    wake.work_created(session, announced_by_database=True)


async def emit_many(session: AsyncSession, events: Sequence[Event]) -> None:
    """Write several events now, in one statement, without ORM objects (batch jobs).

    Each line's events keep their order; the lines go in id order. On PostgreSQL each event takes its
    line's lock until commit (migration 0010), and transactions that take several lines' locks in one
    order cannot deadlock each other.
    """
    if not events:
        return
    trace_id = current_trace_id()
    rows = [
        {
            "partner_id": event.partner_id,
            "line_id": event.line_id,
            "event_type": event.event_type,
            "data": event.data(),
            "trace_id": trace_id,
        }
        # A line id's text sorts as the id does; events about no line go first.
        for event in sorted(events, key=lambda event: str(event.line_id or ""))
    ]
    await session.execute(_insert_events, rows)
    wake.work_created(session, announced_by_database=True)


def wake_after_commit(session: AsyncSession) -> None:
    """Wake the workers when the session commits (deliveries queued directly)."""
    wake.work_created(session)
