"""Write events into the outbox inside the caller's transaction.

A change that rolls back takes its events with it; a committed change always has its events. A
transaction that emitted events wakes the workers when it commits (jobs/wake.py), so delivery does not
wait for their next poll.

`emit` writes its events last, right before the commit, after everything else the transaction
changed: an event's `created_at` and sequence number are taken as close to the commit as they can be,
and on PostgreSQL the line's commit-order lock (migrations 0007 and 0010), taken by the insert, is
held for the commit alone. A re-scoring pass that changes 200 lines used to write its events first
and then spend about 100 ms updating the lines, so its events reached receivers 100 ms "late".
`write` and `emit_many` write at once, after any events still waiting, so the events of one
transaction keep the order they were emitted in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy import event as orm_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from phoneline.events.models import OutboxEvent
from phoneline.events.types import Event
from phoneline.jobs import wake
from phoneline.tracing import current_trace_id

_insert_events = insert(cast(Table, OutboxEvent.__table__))
# Rows emitted in the session's transaction and not yet written (session.info, cleared on rollback).
_PENDING = "phoneline.outbox.pending"


def _row(event: Event, trace_id: str) -> dict[str, Any]:
    return {
        "partner_id": event.partner_id,
        "line_id": event.line_id,
        "event_type": event.event_type,
        "data": event.data(),
        "trace_id": trace_id,
    }


def emit(session: AsyncSession | Session, event: Event) -> None:
    """Add one event to the transaction; it is written right before the commit, after the rest."""
    session.info.setdefault(_PENDING, []).append(_row(event, current_trace_id()))
    wake.work_created(session, announced_by_database=True)


def _after_pending(session: AsyncSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` behind the events still waiting for the commit, taken from the session: written in one
    statement, one transaction's events keep the order they were emitted in."""
    return [*session.info.pop(_PENDING, []), *rows]


@orm_event.listens_for(Session, "before_commit")
def _write_pending_before_commit(session: Session) -> None:
    if pending := session.info.pop(_PENDING, None):
        # Everything else first: the events are the transaction's last writes.
        session.flush()
        session.execute(_insert_events, pending)


@orm_event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    # Rolled back or closed without a commit: its events go with it.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


async def write(session: AsyncSession, event: Event) -> None:
    """Write one event now, in one statement without an ORM object (the send path).

    On PostgreSQL the insert takes the line's commit-order lock (migrations 0007 and 0010) until the commit, so
    a transaction writes its event after its row locks: the counter rows a send upserts are also
    claimed by the re-scoring worker, which takes that lock for its own events while holding them.
    """
    await session.execute(_insert_events, _after_pending(session, [_row(event, current_trace_id())]))
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
        _row(event, trace_id)
        # A line id's text sorts as the id does; events about no line go first.
        for event in sorted(events, key=lambda event: str(event.line_id or ""))
    ]
    await session.execute(_insert_events, _after_pending(session, rows))
    wake.work_created(session, announced_by_database=True)


def wake_after_commit(session: AsyncSession) -> None:
    """Wake the workers when the session commits (deliveries queued directly)."""
    wake.work_created(session)
