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
    Select,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.events.models import OutboxEvent
from phoneline.events.types import Event, parse
from phoneline.jobs.lease import LeasedTable, taken
from phoneline.lines.models import Line
from phoneline.webhooks.models import (
    DeliveryState,
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
    # The line's number when the event was claimed for fan-out (None for no line, or one since removed).
    line_number: str | None = None

    def typed(self) -> Event | None:
        """The event as its class (events/types.py); None for a type this version does not know."""
        return parse(self.event_type, self.partner_id, self.line_id, self.data)


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery with everything needed to sign and send it, without touching the database."""

    token: str  # the lease it was claimed under
    delivery_id: uuid.UUID
    attempts_made: int
    subscription_id: uuid.UUID
    target_url: str
    webhook_version: str
    signing_secret_encrypted: str
    event_seq: int
    event_id: uuid.UUID
    event_type: str
    event_created_at: datetime
    trace_id: str
    partner_id: uuid.UUID
    line_id: uuid.UUID | None
    data: dict[str, Any]
    # Whether the subscription was in a run of failures when claimed: only then must a success end it.
    subscription_failing: bool
    # Its run of unreachable attempts when claimed: only a non-zero run needs closing on an answer.
    breaker_failures: int


@dataclass(frozen=True)
class DeliveryUpdate:
    """The outcome of one attempt, as it is written back."""

    token: str
    delivery_id: uuid.UUID
    attempt_number: int
    state: str
    next_attempt_at: datetime | None
    status_code: int | None
    error: str | None
    completed_at: datetime | None


# --- fan-out ---------------------------------------------------------------------------------------

_oldest_undispatched = taken(
    select(_events.c.seq)
    .where(_events.c.dispatched_at.is_(None))
    .order_by(_events.c.seq)
    .limit(bindparam("limit"))
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
        # Read with the claim rather than in a query of its own: a round trip less per fan-out.
        select(_lines.c.number).where(_lines.c.id == _events.c.line_id).scalar_subquery(),
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

DELIVERIES = LeasedTable.of(_deliveries)

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
# Due now, not leased, its subscription active with its breaker closed, and first in line: work that
# waits only for a worker (what "overdue" means in the metrics and `phoneline jobs status`).
_claimable = (
    _candidate.c.state == PENDING,
    _candidate.c.next_attempt_at <= bindparam("now"),
    DELIVERIES.free(_candidate),
    _subscriptions.c.is_active.is_(True),
    or_(
        _subscriptions.c.breaker_open_until.is_(None),
        _subscriptions.c.breaker_open_until <= bindparam("now"),
    ),
    ~_earlier_delivery_pending,
    ~_earlier_event_unplanned,
)
_with_subscription = _candidate.join(_subscriptions, _subscriptions.c.id == _candidate.c.subscription_id)
_due = DELIVERIES.lock(
    select(
        _candidate.c.id, _candidate.c.subscription_id, _candidate.c.next_attempt_at, _candidate.c.event_seq
    )
    .select_from(_with_subscription)
    .where(*_claimable)
    .order_by(_candidate.c.next_attempt_at, _candidate.c.event_seq)
    .limit(bindparam("scan"))
).cte("due")
# This worker's attempts in flight per subscription (its lease tokens start with its id; the partial
# index on leased rows).
_leased = _deliveries.alias("leased")
_in_flight = (
    select(_leased.c.subscription_id, func.count().label("attempts"))
    .where(
        literal_column("leased.lease_owner IS NOT NULL"),
        # Tokens are "<worker id>#<n>" (jobs/lease.py); a worker id holds no LIKE wildcard.
        _leased.c.lease_owner.like(bindparam("worker_tokens")),
        _leased.c.lease_expires_at > bindparam("now"),
        _leased.c.subscription_id.in_(select(_due.c.subscription_id)),
    )
    .group_by(_leased.c.subscription_id)
    .subquery("in_flight")
)
# Each candidate's place among its subscription's attempts in this worker: those in flight, then the
# candidates in claim order. A subscription whose breaker has just closed again is probed one attempt at
# a time.
_ranked = (
    select(
        _due.c.id,
        _due.c.next_attempt_at,
        _due.c.event_seq,
        (
            func.row_number().over(
                partition_by=_due.c.subscription_id, order_by=(_due.c.next_attempt_at, _due.c.event_seq)
            )
            + func.coalesce(_in_flight.c.attempts, 0)
        ).label("place"),
        case(
            (_subscriptions.c.breaker_failures >= bindparam("breaker_failures"), 1),
            else_=bindparam("per_subscription"),
        ).label("allowed"),
    )
    .select_from(
        _due.join(_subscriptions, _subscriptions.c.id == _due.c.subscription_id).outerjoin(
            _in_flight, _in_flight.c.subscription_id == _due.c.subscription_id
        )
    )
    .subquery("ranked")
)
# Within their own slots first, in claim order; then beyond them (a busy partner borrowing idle slots),
# but never into the last `per_subscription` slots, which stay free for whoever comes next.
_beyond = case((_ranked.c.place > _ranked.c.allowed, 1), else_=0)
_picked = select(
    _ranked.c.id,
    _ranked.c.place,
    _ranked.c.allowed,
    func.row_number().over(order_by=(_beyond, _ranked.c.next_attempt_at, _ranked.c.event_seq)).label("pick"),
).subquery("picked")
_admitted = (
    select(_picked.c.id)
    .where(
        or_(
            _picked.c.place <= _picked.c.allowed,
            _picked.c.pick <= bindparam("slots") - bindparam("per_subscription"),
        )
    )
    .order_by(_picked.c.pick)
    .limit(bindparam("slots"))
)
_claim_deliveries = DELIVERIES.claim(_admitted, lock=False)


def _with_details(claimed: Any) -> Select[Any]:
    """What a worker needs to sign and send each claimed delivery, in event order."""
    return (
        select(
            claimed.c.id,
            claimed.c.attempts,
            _subscriptions.c.id,
            _subscriptions.c.target_url,
            _subscriptions.c.webhook_version,
            _subscriptions.c.signing_secret_encrypted,
            _events.c.seq,
            _events.c.id,
            _events.c.event_type,
            _events.c.created_at,
            _events.c.trace_id,
            _events.c.partner_id,
            _events.c.line_id,
            _events.c.data,
            _subscriptions.c.failing_since.is_not(None),
            _subscriptions.c.breaker_failures,
        )
        .select_from(
            claimed.join(_subscriptions, _subscriptions.c.id == claimed.c.subscription_id).join(
                _events, _events.c.seq == claimed.c.event_seq
            )
        )
        .order_by(_events.c.seq)
    )


# PostgreSQL claims and reads the details in one round trip (the UPDATE ... RETURNING as a CTE);
# SQLite allows no UPDATE inside WITH, so it reads them by id right after the claim.
_claim_with_details = _with_details(
    DELIVERIES.claim(
        _admitted,
        _deliveries.c.id,
        _deliveries.c.attempts,
        _deliveries.c.subscription_id,
        _deliveries.c.event_seq,
        lock=False,
    ).cte("claimed")
)
_job_details = _with_details(_deliveries).where(_deliveries.c.id.in_(bindparam("ids", expanding=True)))


# The candidates must be read in index order, stopping after `scan` of them. Right after a burst (or on
# a new table) the statistics still describe a short queue, and the planner then reads every due row
# by bitmap, checks each one's line order and sorts them: 30 ms for 5,000 due rows instead of 3 ms,
# on every claim until autovacuum re-analyzes. For this transaction only (it is the last statement
# before the commit), so nothing else is planned under the setting.
_ordered_due_scan = text("SET LOCAL enable_bitmapscan = off")


@dataclass(frozen=True)
class ClaimLimits:
    """How much one claim may take: free slots of this worker, and the per-subscription rules."""

    worker_id: str
    slots: int
    per_subscription: int
    breaker_failures: int


async def claim_due_deliveries(
    session: AsyncSession, *, now: datetime, token: str, lease_until: datetime, limits: ClaimLimits
) -> list[DeliveryJob]:
    """Lease up to `limits.slots` due deliveries to `token` (this worker's free slots). Each subscription
    has `per_subscription` slots of its own in this worker (one while it is probed after its breaker
    opened); beyond them it may borrow idle slots, but never the last `per_subscription`."""
    params = {
        "now": now,
        # Look past the first few candidates, so one busy subscription at the head of the queue
        # does not hide the others.
        "scan": max(50, 4 * limits.slots),
        "slots": limits.slots,
        "worker_tokens": f"{limits.worker_id}#%",
        "per_subscription": limits.per_subscription,
        "breaker_failures": limits.breaker_failures,
        "token": token,
        "lease_until": lease_until,
    }
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_ordered_due_scan)
        rows = (await session.execute(_claim_with_details, params)).all()
    else:
        ids = list((await session.execute(_claim_deliveries, params)).scalars().all())
        if not ids:
            return []
        rows = (await session.execute(_job_details, {"ids": ids})).all()
    return [DeliveryJob(token, *tuple(row)) for row in rows]


# --- recording -------------------------------------------------------------------------------------

# Fenced by the lease token: a worker whose lease was taken over (or that a deactivation cancelled)
# still records its attempt but no longer decides the delivery's state.
_write_back = DELIVERIES.write_back(
    {
        "state": "b_state",
        "attempts": "b_attempts",
        "next_attempt_at": "b_next",
        "last_status_code": "b_status",
        "last_error": "b_error",
        "completed_at": "b_completed",
    }
)


async def record_attempts(
    session: AsyncSession, updates: Sequence[DeliveryUpdate], attempts: list[dict[str, Any]]
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
                    "b_token": change.token,
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


# --- status (metrics, `phoneline jobs status`) -----------------------------------------------------

_overdue = (
    select(func.count(), func.min(_candidate.c.next_attempt_at))
    .select_from(_with_subscription)
    .where(*_claimable)
)
_counts = select(
    func.count().filter(_deliveries.c.state == PENDING),
    func.count().filter(
        _deliveries.c.state == PENDING,
        _deliveries.c.lease_owner.is_not(None),
        _deliveries.c.lease_expires_at > bindparam("now"),
    ),
    func.count().filter(_deliveries.c.state == literal_column(f"'{DeliveryState.FAILED.value}'")),
)
_breakers_open = (
    select(_subscriptions.c.id, _subscriptions.c.partner_id, _subscriptions.c.target_url,
           _subscriptions.c.breaker_failures, _subscriptions.c.breaker_open_until)
    .where(_subscriptions.c.breaker_open_until > bindparam("now"), _subscriptions.c.deleted_at.is_(None))
    .order_by(_subscriptions.c.breaker_open_until)
    .limit(bindparam("limit"))
)  # fmt: skip


@dataclass(frozen=True)
class QueueCounts:
    pending: int
    in_flight: int
    failed: int
    overdue: int
    oldest_overdue_since: datetime | None


async def counts(session: AsyncSession, now: datetime) -> QueueCounts:
    pending, in_flight, failed = (await session.execute(_counts, {"now": now})).one()
    overdue, oldest = (await session.execute(_overdue, {"now": now})).one()
    return QueueCounts(pending, in_flight, failed, overdue, oldest)


async def open_breakers(session: AsyncSession, now: datetime, limit: int = 100) -> list[Any]:
    """Subscriptions whose deliveries wait for their breaker (soonest to close first)."""
    return list((await session.execute(_breakers_open, {"now": now, "limit": limit})).all())
