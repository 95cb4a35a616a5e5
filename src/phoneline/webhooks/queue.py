"""SQL of the delivery queue: fan events out into deliveries, claim due deliveries, record attempts.

Every statement here is safe with any number of dispatchers on PostgreSQL (rows are claimed with
`FOR UPDATE SKIP LOCKED`, so two workers never take the same row) and starts its transaction with a
write on SQLite (a read-then-write transaction could fail there when another connection writes between).

Order per line: a delivery is claimable only when no earlier delivery for the same (subscription, line)
is still pending (waiting, retrying or in flight) and no earlier event about the line is still waiting to
be fanned out. Deliveries about different lines or subscriptions are independent.

The statements on the hot path are built once, on Core tables, with bound parameters: building ORM
statements per call cost more than running them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    exists,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.lines.models import Line
from phoneline.webhooks.models import (
    DeliveryState,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

_events = cast(Table, OutboxEvent.__table__)
_deliveries = cast(Table, WebhookDelivery.__table__)
_attempts = cast(Table, WebhookAttempt.__table__)
_subscriptions = cast(Table, WebhookSubscription.__table__)
_lines = cast(Table, Line.__table__)

# Inline, not a bound parameter: the partial indexes (`WHERE state = 'pending'`) are only used when the
# query states the same condition literally.
PENDING: ColumnElement[str] = literal_column(f"'{DeliveryState.PENDING.value}'")


@dataclass(frozen=True)
class ClaimedEvent:
    seq: int
    id: uuid.UUID
    partner_id: uuid.UUID
    line_id: uuid.UUID | None
    event_type: str
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery with everything needed to sign and send it, without touching the database."""

    delivery_id: uuid.UUID
    attempts_made: int
    subscription_id: uuid.UUID
    target_url: str
    webhook_version: str
    signing_secret_encrypted: str
    event_id: uuid.UUID
    event_type: str
    event_created_at: datetime
    trace_id: str
    partner_id: uuid.UUID
    data: dict[str, Any]
    # Whether the subscription was in a run of failures when claimed: only then must a success end it.
    subscription_failing: bool


@dataclass(frozen=True)
class DeliveryUpdate:
    """The outcome of one attempt, as it is written back."""

    delivery_id: uuid.UUID
    attempt_number: int
    state: str
    next_attempt_at: datetime | None
    status_code: int | None
    error: str | None
    completed_at: datetime | None


# --- fan-out ---------------------------------------------------------------------------------------

_oldest_undispatched = (
    select(_events.c.seq)
    .where(_events.c.dispatched_at.is_(None))
    .order_by(_events.c.seq)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_claim_events = (
    update(_events)
    .where(_events.c.seq.in_(_oldest_undispatched.scalar_subquery()))
    .values(dispatched_at=bindparam("now"))
    .returning(
        _events.c.seq,
        _events.c.id,
        _events.c.partner_id,
        _events.c.line_id,
        _events.c.event_type,
        _events.c.data,
        _events.c.created_at,
    )
)


async def claim_undispatched_events(session: AsyncSession, now: datetime, limit: int) -> list[ClaimedEvent]:
    """Mark the oldest events not yet fanned out as dispatched and return them, oldest first.

    The caller writes their deliveries in the same transaction, so a crash loses neither.
    """
    claimed = await session.execute(_claim_events, {"now": now, "limit": limit})
    return sorted((ClaimedEvent(*row) for row in claimed.all()), key=lambda event: event.seq)


async def active_subscriptions(
    session: AsyncSession, partner_ids: set[uuid.UUID]
) -> Sequence[WebhookSubscription]:
    if not partner_ids:
        return []
    query = select(WebhookSubscription).where(
        WebhookSubscription.partner_id.in_(partner_ids),
        WebhookSubscription.is_active.is_(True),
        WebhookSubscription.deleted_at.is_(None),
    )
    return (await session.scalars(query)).all()


_line_numbers = select(_lines.c.id, _lines.c.number).where(_lines.c.id.in_(bindparam("ids", expanding=True)))


async def line_numbers(session: AsyncSession, line_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not line_ids:
        return {}
    rows = await session.execute(_line_numbers, {"ids": list(line_ids)})
    return {line_id: number for line_id, number in rows.all()}


async def insert_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(_deliveries), rows)


# --- claiming --------------------------------------------------------------------------------------

_candidate = _deliveries.alias("candidate")
_earlier = _deliveries.alias("earlier")
_earlier_delivery_pending = exists().where(
    _earlier.c.subscription_id == _candidate.c.subscription_id,
    _earlier.c.line_id == _candidate.c.line_id,
    _earlier.c.event_seq < _candidate.c.event_seq,
    _earlier.c.state == PENDING,
)
_earlier_event_unplanned = exists().where(
    _events.c.line_id == _candidate.c.line_id,
    _events.c.seq < _candidate.c.event_seq,
    _events.c.dispatched_at.is_(None),
)
_due = (
    select(_candidate.c.id)
    .select_from(_candidate.join(_subscriptions, _subscriptions.c.id == _candidate.c.subscription_id))
    .where(
        _candidate.c.state == PENDING,
        _candidate.c.next_attempt_at <= bindparam("now"),
        or_(_candidate.c.lease_expires_at.is_(None), _candidate.c.lease_expires_at <= bindparam("now")),
        _subscriptions.c.is_active.is_(True),
        ~_earlier_delivery_pending,
        ~_earlier_event_unplanned,
    )
    .order_by(_candidate.c.next_attempt_at, _candidate.c.event_seq)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True, of=_candidate)
)
_claim_deliveries = (
    update(_deliveries)
    .where(_deliveries.c.id.in_(_due.scalar_subquery()))
    .values(lease_owner=bindparam("worker"), lease_expires_at=bindparam("lease_until"))
    .returning(_deliveries.c.id)
)
_job_details = (
    select(
        _deliveries.c.id,
        _deliveries.c.attempts,
        _subscriptions.c.id,
        _subscriptions.c.target_url,
        _subscriptions.c.webhook_version,
        _subscriptions.c.signing_secret_encrypted,
        _events.c.id,
        _events.c.event_type,
        _events.c.created_at,
        _events.c.trace_id,
        _events.c.partner_id,
        _events.c.data,
        _subscriptions.c.failing_since.is_not(None),
    )
    .select_from(
        _deliveries.join(_subscriptions, _subscriptions.c.id == _deliveries.c.subscription_id).join(
            _events, _events.c.seq == _deliveries.c.event_seq
        )
    )
    .where(_deliveries.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_deliveries.c.event_seq)
)


async def claim_due_deliveries(
    session: AsyncSession, *, now: datetime, worker: str, lease_until: datetime, limit: int
) -> list[DeliveryJob]:
    claimed = await session.execute(
        _claim_deliveries, {"now": now, "limit": limit, "worker": worker, "lease_until": lease_until}
    )
    ids = list(claimed.scalars().all())
    if not ids:
        return []
    rows = await session.execute(_job_details, {"ids": ids})
    return [DeliveryJob(*tuple(row)) for row in rows.all()]


_release = (
    update(_deliveries)
    .where(
        _deliveries.c.id.in_(bindparam("ids", expanding=True)),
        _deliveries.c.lease_owner == bindparam("worker"),
    )
    .values(lease_owner=None, lease_expires_at=None)
)


async def release(session: AsyncSession, delivery_ids: list[uuid.UUID], worker: str) -> None:
    """Give back claimed deliveries that were never attempted."""
    if delivery_ids:
        await session.execute(_release, {"ids": delivery_ids, "worker": worker})


# --- recording -------------------------------------------------------------------------------------

# Fenced by the lease: a worker whose lease expired (and whose delivery another worker took over, or
# that a deactivation cancelled) still records its attempt but no longer decides the delivery's state.
_write_back = (
    update(_deliveries)
    .where(_deliveries.c.id == bindparam("b_id"), _deliveries.c.lease_owner == bindparam("b_owner"))
    .values(
        state=bindparam("b_state"),
        attempts=bindparam("b_attempts"),
        next_attempt_at=bindparam("b_next"),
        last_status_code=bindparam("b_status"),
        last_error=bindparam("b_error"),
        completed_at=bindparam("b_completed"),
        lease_owner=None,
        lease_expires_at=None,
    )
)


async def record_attempts(
    session: AsyncSession, worker: str, updates: Sequence[DeliveryUpdate], attempts: list[dict[str, Any]]
) -> None:
    """Write attempt rows and each delivery's new state, in bulk."""
    if attempts:
        await session.execute(insert(_attempts), [{"id": uuid.uuid4(), **attempt} for attempt in attempts])
    if updates:
        await session.execute(
            _write_back,
            [
                {
                    "b_id": change.delivery_id,
                    "b_owner": worker,
                    "b_state": change.state,
                    "b_attempts": change.attempt_number,
                    # A finished delivery keeps its last schedule; only pending ones are read by it.
                    "b_next": change.next_attempt_at or change.completed_at,
                    "b_status": change.status_code,
                    "b_error": change.error,
                    "b_completed": change.completed_at,
                }
                for change in updates
            ],
        )


_in_ids = _subscriptions.c.id.in_(bindparam("ids", expanding=True))
_mark_succeeding = (
    update(_subscriptions)
    .where(_in_ids, _subscriptions.c.failing_since.is_not(None))
    .values(failing_since=None, failure_alert_level=0)
)
_mark_failing = (
    update(_subscriptions)
    .where(_in_ids, _subscriptions.c.failing_since.is_(None))
    .values(failing_since=bindparam("now"))
)
_inactive_among = select(_subscriptions.c.id).where(and_(_in_ids, _subscriptions.c.is_active.is_(False)))


async def mark_succeeding(session: AsyncSession, subscription_ids: set[uuid.UUID]) -> None:
    """Any success ends a subscription's run of failures (a no-op write for healthy ones)."""
    if subscription_ids:
        await session.execute(_mark_succeeding, {"ids": list(subscription_ids)})


async def mark_failing(
    session: AsyncSession, subscription_ids: set[uuid.UUID], now: datetime
) -> Sequence[WebhookSubscription]:
    """Start the failure clock where it is not running; return the subscriptions (active ones)."""
    if not subscription_ids:
        return []
    await session.execute(_mark_failing, {"ids": list(subscription_ids), "now": now})
    return await subscriptions_by_id(session, subscription_ids)


async def subscriptions_by_id(
    session: AsyncSession, subscription_ids: set[uuid.UUID]
) -> Sequence[WebhookSubscription]:
    """The active ones among them, as objects the caller may change."""
    if not subscription_ids:
        return []
    query = select(WebhookSubscription).where(
        WebhookSubscription.id.in_(subscription_ids), WebhookSubscription.is_active.is_(True)
    )
    return (await session.scalars(query)).all()


async def inactive_among(session: AsyncSession, subscription_ids: set[uuid.UUID]) -> list[uuid.UUID]:
    if not subscription_ids:
        return []
    rows = await session.execute(_inactive_among, {"ids": list(subscription_ids)})
    return list(rows.scalars().all())
