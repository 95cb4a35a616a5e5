"""Write events into the outbox inside the caller's transaction.

A change that rolls back takes its events with it; a committed change always has its events.
When a transaction that emitted events commits, dispatchers in this process are woken at once, so
delivery does not wait for their next poll (other processes find the rows by polling).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from phoneline.api.tracing import current_trace_id
from phoneline.webhooks.models import OutboxEvent

_EMITTED = "phoneline.outbox.emitted"
_wakers: set[Callable[[], None]] = set()
_wakers_lock = threading.Lock()


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
    session.info[_EMITTED] = True
    return event


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
