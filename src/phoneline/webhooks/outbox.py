"""Write events into the outbox inside the caller's transaction.

A change that rolls back takes its events with it; a committed change always has its events.
When a transaction that emitted events commits, dispatchers in this process are woken at once, so
delivery does not wait for their next poll (other processes find the rows by polling).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from phoneline.tracing import current_trace_id
from phoneline.webhooks.models import OutboxEvent

_EMITTED = "phoneline.outbox.emitted"
_wakers: set[Callable[[], None]] = set()
_wakers_lock = threading.Lock()
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
    session.info[_EMITTED] = True
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
    session.info[_EMITTED] = True


def wake_after_commit(session: AsyncSession) -> None:
    """Wake this process's dispatchers when the session commits (deliveries queued directly)."""
    session.info[_EMITTED] = True


def add_waker(wake: Callable[[], None]) -> None:
    """Call `wake` (from any thread; it must be thread-safe) after each commit that emitted events."""
    with _wakers_lock:
        _wakers.add(wake)


def remove_waker(wake: Callable[[], None]) -> None:
    with _wakers_lock:
        _wakers.discard(wake)


@sa_event.listens_for(Session, "after_commit")
def _wake_dispatchers(session: Session) -> None:
    if session.info.pop(_EMITTED, False):
        with _wakers_lock:
            wakers = list(_wakers)
        for wake in wakers:
            wake()


@sa_event.listens_for(Session, "after_rollback")
def _forget_emitted(session: Session) -> None:
    session.info.pop(_EMITTED, None)
