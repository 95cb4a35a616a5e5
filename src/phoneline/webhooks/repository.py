"""SQL for subscriptions and the delivery log. Partner-facing reads always take the partner id.

The dispatcher's own queries (fan-out, claim, record) live in webhooks/queue.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.errors import InvalidParameter
from phoneline.events.models import OutboxEvent
from phoneline.lines.models import Line
from phoneline.paging import Page, PageRequest, keyset_page
from phoneline.webhooks.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

Live = WebhookSubscription.deleted_at.is_(None)


async def get_for_partner(
    session: AsyncSession, partner_id: uuid.UUID, subscription_id: uuid.UUID
) -> WebhookSubscription | None:
    query = select(WebhookSubscription).where(
        WebhookSubscription.id == subscription_id, WebhookSubscription.partner_id == partner_id, Live
    )
    return await session.scalar(query)


async def get(session: AsyncSession, subscription_id: uuid.UUID) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, subscription_id)


async def list_for_partner(session: AsyncSession, partner_id: uuid.UUID) -> Sequence[WebhookSubscription]:
    query = (
        select(WebhookSubscription)
        .where(WebhookSubscription.partner_id == partner_id, Live)
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    )
    return (await session.scalars(query)).all()


async def list_all(
    session: AsyncSession, partner_id: uuid.UUID | None = None
) -> Sequence[WebhookSubscription]:
    query = select(WebhookSubscription).where(Live).order_by(WebhookSubscription.created_at)
    if partner_id is not None:
        query = query.where(WebhookSubscription.partner_id == partner_id)
    return (await session.scalars(query)).all()


async def find_by_target(
    session: AsyncSession, partner_id: uuid.UUID, target_url: str
) -> WebhookSubscription | None:
    query = select(WebhookSubscription).where(
        WebhookSubscription.partner_id == partner_id, WebhookSubscription.target_url == target_url, Live
    )
    return await session.scalar(query)


async def cancel_pending(
    session: AsyncSession, subscription_id: uuid.UUID, reason: str, now: datetime
) -> None:
    """Cancel a subscription's waiting deliveries. One in flight finishes its attempt first (a success
    stays a success); the dispatcher cancels it afterwards if it would be retried."""
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.state == DeliveryState.PENDING.value,
            or_(WebhookDelivery.lease_expires_at.is_(None), WebhookDelivery.lease_expires_at <= now),
        )
        .values(
            state=DeliveryState.CANCELLED.value,
            last_error=reason,
            completed_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )
    )


async def deliveries_for_subscription(
    session: AsyncSession, subscription_id: uuid.UUID, *, limit: int, state: str | None = None
) -> Sequence[tuple[WebhookDelivery, str]]:
    """Newest first, each with its event type."""
    query = (
        select(WebhookDelivery, OutboxEvent.event_type)
        .join(OutboxEvent, OutboxEvent.seq == WebhookDelivery.event_seq)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.event_seq.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def attempts_for(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    if not delivery_ids:
        return {}
    query = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number, WebhookAttempt.started_at)
    )
    grouped: dict[uuid.UUID, list[WebhookAttempt]] = {}
    for attempt in (await session.scalars(query)).all():
        grouped.setdefault(attempt.delivery_id, []).append(attempt)
    return grouped


async def get_event(session: AsyncSession, event_id: uuid.UUID) -> OutboxEvent | None:
    return await session.scalar(select(OutboxEvent).where(OutboxEvent.id == event_id))


async def subscriptions_that_got(session: AsyncSession, event_seq: int) -> Sequence[uuid.UUID]:
    query = select(WebhookDelivery.subscription_id).where(WebhookDelivery.event_seq == event_seq).distinct()
    return (await session.scalars(query)).all()


async def has_pending(session: AsyncSession, subscription_id: uuid.UUID, event_seq: int) -> bool:
    query = select(WebhookDelivery.id).where(
        WebhookDelivery.subscription_id == subscription_id,
        WebhookDelivery.event_seq == event_seq,
        WebhookDelivery.state == DeliveryState.PENDING.value,
    )
    return (await session.scalar(query.limit(1))) is not None


async def events_since(
    session: AsyncSession, partner_id: uuid.UUID, since: datetime, event_types: Sequence[str]
) -> Sequence[OutboxEvent]:
    query = (
        select(OutboxEvent)
        .where(
            OutboxEvent.partner_id == partner_id,
            OutboxEvent.created_at >= since,
            OutboxEvent.event_type.in_(event_types),
            # Not yet fanned out: fan-out will deliver it anyway.
            OutboxEvent.dispatched_at.is_not(None),
        )
        .order_by(OutboxEvent.seq)
    )
    return (await session.scalars(query)).all()


async def delivered_seqs(session: AsyncSession, subscription_id: uuid.UUID, since_seq: int) -> set[int]:
    """Events already delivered, or on their way (pending), to the subscription."""
    query = select(WebhookDelivery.event_seq).where(
        WebhookDelivery.subscription_id == subscription_id,
        WebhookDelivery.event_seq >= since_seq,
        WebhookDelivery.state.in_([DeliveryState.SUCCEEDED.value, DeliveryState.PENDING.value]),
    )
    return set((await session.scalars(query)).all())


# --- the partner's own delivery log (dashboard) ------------------------------------------------------


async def delivery_for_partner(
    session: AsyncSession, partner_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery | None:
    query = (
        select(WebhookDelivery)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.id == delivery_id, WebhookSubscription.partner_id == partner_id)
    )
    return await session.scalar(query)


# --- backlog (operator console and /metrics) ---------------------------------------------------------


async def backlog(session: AsyncSession, now: datetime) -> tuple[int, datetime | None, datetime | None]:
    """Pending deliveries: how many, the oldest one's creation time, and the earliest due time among
    those already due (None when nothing is due)."""
    pending = WebhookDelivery.state == DeliveryState.PENDING.value
    count, oldest = (
        await session.execute(select(func.count(), func.min(WebhookDelivery.created_at)).where(pending))
    ).one()
    oldest_due = await session.scalar(
        select(func.min(WebhookDelivery.next_attempt_at)).where(
            pending, WebhookDelivery.next_attempt_at <= now
        )
    )
    return int(count), oldest, oldest_due


async def failing_subscriptions(session: AsyncSession) -> Sequence[WebhookSubscription]:
    """Live subscriptions in a run of failures, or switched off by one, longest-failing first."""
    query = (
        select(WebhookSubscription)
        .where(
            Live,
            or_(
                WebhookSubscription.failing_since.is_not(None),
                WebhookSubscription.is_active.is_(False),
            ),
        )
        .order_by(WebhookSubscription.failing_since, WebhookSubscription.updated_at)
    )
    return (await session.scalars(query)).all()


async def pending_counts(
    session: AsyncSession, subscription_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not subscription_ids:
        return {}
    query = (
        select(WebhookDelivery.subscription_id, func.count())
        .where(
            WebhookDelivery.subscription_id.in_(subscription_ids),
            WebhookDelivery.state == DeliveryState.PENDING.value,
        )
        .group_by(WebhookDelivery.subscription_id)
    )
    return {row[0]: int(row[1]) for row in (await session.execute(query)).all()}


_breaker_subscriptions = cast(Table, WebhookSubscription.__table__)

# --- the breaker (webhooks/tasks.py) ---------------------------------------------------------------

_breaker_closed = (
    update(_breaker_subscriptions)
    .where(
        _breaker_subscriptions.c.id.in_(bindparam("ids", expanding=True)),
        _breaker_subscriptions.c.breaker_failures > 0,
    )
    .values(breaker_failures=0, breaker_open_until=None)
)
_breaker_state = select(_breaker_subscriptions.c.id, _breaker_subscriptions.c.breaker_failures).where(
    _breaker_subscriptions.c.id.in_(bindparam("ids", expanding=True))
)
_breaker_write = (
    update(_breaker_subscriptions)
    .where(_breaker_subscriptions.c.id == bindparam("b_id"))
    .values(breaker_failures=bindparam("b_failures"), breaker_open_until=bindparam("b_open_until"))
)


async def close_breakers(session: AsyncSession, subscription_ids: set[uuid.UUID]) -> None:
    """The endpoint answered: its run of unreachable attempts is over."""
    if subscription_ids:
        await session.execute(_breaker_closed, {"ids": list(subscription_ids)})


async def count_unreachable(
    session: AsyncSession,
    unreachable: dict[uuid.UUID, int],
    open_until: Callable[[int], datetime | None],
) -> list[uuid.UUID]:
    """Add each subscription's new timeouts and connection failures to its run; `open_until(run)` says
    until when the breaker is open for a run that long (None: still closed). Returns those whose breaker
    this opened (it was closed before these failures)."""
    if not unreachable:
        return []
    rows = await session.execute(_breaker_state, {"ids": list(unreachable)})
    writes, opened = [], []
    for subscription_id, failures in rows.all():
        run = failures + unreachable[subscription_id]
        until = open_until(run)
        writes.append({"b_id": subscription_id, "b_failures": run, "b_open_until": until})
        if until is not None and open_until(failures) is None:
            opened.append(subscription_id)
    if writes:
        await session.execute(_breaker_write, writes)
    return opened


# --- the paged delivery log (dashboard and console) --------------------------------------------------


@dataclass(frozen=True)
class DeliveryFilter:
    """What a delivery log is narrowed to; `line_number` is E.164, `state` a DeliveryState value."""

    event_type: str | None = None
    line_number: str | None = None
    state: str | None = None
    partner_id: uuid.UUID | None = None  # the console's partner filter; the dashboard always sets it


def _decode_delivery_cursor(values: list[str]) -> list[Any]:
    try:
        return [datetime.fromisoformat(values[0]), uuid.UUID(values[1])]
    except ValueError:
        raise InvalidParameter("That page link is not valid; start again from the first page.") from None


async def page_of_deliveries(
    session: AsyncSession, found: DeliveryFilter, request: PageRequest
) -> Page[WebhookDelivery]:
    """Newest first, across the partner's subscriptions (deleted ones too), or every partner's."""
    query = select(WebhookDelivery)
    if found.partner_id is not None:
        query = query.join(
            WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id
        ).where(WebhookSubscription.partner_id == found.partner_id)
    if found.event_type:
        query = query.join(OutboxEvent, OutboxEvent.seq == WebhookDelivery.event_seq).where(
            OutboxEvent.event_type == found.event_type
        )
    if found.line_number:
        query = query.where(
            WebhookDelivery.line_id.in_(select(Line.id).where(Line.number == found.line_number))
        )
    if found.state:
        query = query.where(WebhookDelivery.state == found.state)
    return await keyset_page(
        session, query, [WebhookDelivery.created_at, WebhookDelivery.id], request,
        key_of=lambda delivery: [delivery.created_at.isoformat(), delivery.id],
        decode=_decode_delivery_cursor, descending=True,
    )  # fmt: skip


async def events_by_seq(session: AsyncSession, seqs: Sequence[int]) -> dict[int, OutboxEvent]:
    if not seqs:
        return {}
    found = await session.scalars(select(OutboxEvent).where(OutboxEvent.seq.in_(set(seqs))))
    return {event.seq: event for event in found}


async def earliest_pending_before(session: AsyncSession, delivery: WebhookDelivery) -> WebhookDelivery | None:
    """The delivery this one waits behind: the earliest still-pending delivery of an earlier event about
    the same line to the same subscription (webhooks/queue.py's order rule)."""
    if delivery.line_id is None or delivery.state != DeliveryState.PENDING.value:
        return None
    query = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == delivery.subscription_id,
            WebhookDelivery.line_id == delivery.line_id,
            WebhookDelivery.event_seq < delivery.event_seq,
            WebhookDelivery.state == DeliveryState.PENDING.value,
        )
        .order_by(WebhookDelivery.event_seq)
        .limit(1)
    )
    return await session.scalar(query)


async def line_numbers_by_id(session: AsyncSession, line_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not line_ids:
        return {}
    rows = await session.execute(select(Line.id, Line.number).where(Line.id.in_(set(line_ids))))
    return {line_id: number for line_id, number in rows.all()}


async def delivery_by_id(session: AsyncSession, delivery_id: uuid.UUID) -> WebhookDelivery | None:
    """Operator lookup (the console); partners use delivery_for_partner."""
    return await session.get(WebhookDelivery, delivery_id)


async def subscriptions_by_id(
    session: AsyncSession, subscription_ids: Sequence[uuid.UUID]
) -> Sequence[WebhookSubscription]:
    if not subscription_ids:
        return []
    query = select(WebhookSubscription).where(WebhookSubscription.id.in_(set(subscription_ids)))
    return (await session.scalars(query)).all()
