"""Operator tooling for deliveries: read the log, resend one event, replay a subscription's window.

Resent and replayed deliveries are new deliveries of the same event, so they carry the same
`webhook-id` (= event_id) and receivers deduplicate them like any retry.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.base import as_utc, utcnow
from phoneline.errors import Conflict, InvalidParameter, NotFound
from phoneline.events import outbox
from phoneline.events.models import OutboxEvent
from phoneline.webhooks import fanout, queue, repository, schemas
from phoneline.webhooks.models import WebhookSubscription
from phoneline.webhooks.subscriptions import parse_subscription_id, require_any_subscription

DEFAULT_LOG_LIMIT = 50
MAX_REPLAY = 10_000
_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class EventNotFound(NotFound):
    message = "Event not found."


def parse_since(text: str, now: datetime) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise) or an age such as `90m`, `6h`, `2d`."""
    value = text.strip()
    ago = _AGO.match(value)
    if ago:
        return now - timedelta(seconds=float(ago.group(1)) * _UNIT_S[ago.group(2)])
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise InvalidParameter(
            f"'{text}' is not a time; use ISO 8601 (2026-01-31T12:00:00Z) or an age (90m, 6h, 2d)."
        ) from None


async def delivery_log(
    session: AsyncSession, subscription_id: str, *, limit: int = DEFAULT_LOG_LIMIT, state: str | None = None
) -> schemas.DeliveryList:
    subscription = await require_any_subscription(session, subscription_id)
    rows = await repository.deliveries_for_subscription(session, subscription.id, limit=limit, state=state)
    attempts = await repository.attempts_for(session, [delivery.id for delivery, _ in rows])
    return schemas.DeliveryList(
        deliveries=[
            schemas.delivery_out(delivery, event_type, attempts.get(delivery.id, []))
            for delivery, event_type in rows
        ]
    )


def _usable(subscription: WebhookSubscription) -> None:
    if subscription.deleted_at is not None:
        raise Conflict(f"Webhook subscription {subscription.id} was deleted.")
    if not subscription.is_active:
        raise Conflict(
            f"Webhook subscription {subscription.id} is inactive ({subscription.deactivated_reason}); "
            "reactivate it first (PUT is_active=true)."
        )


def _claimed(event: OutboxEvent) -> queue.ClaimedEvent:
    return queue.ClaimedEvent(
        seq=event.seq,
        id=event.id,
        partner_id=event.partner_id,
        line_id=event.line_id,
        event_type=event.event_type,
        data=event.data,
        created_at=event.created_at,
    )


async def _queue(
    session: AsyncSession, plans: Sequence[tuple[uuid.UUID, OutboxEvent]], kind: str
) -> schemas.DeliveriesCreated:
    now = utcnow()
    rows = [fanout.delivery_row(target, _claimed(event), now, kind) for target, event in plans]
    await queue.insert_deliveries(session, rows)
    outbox.wake_after_commit(session)
    types = {event.seq: event.event_type for _, event in plans}
    out = []
    for row in rows:
        out.append(
            schemas.DeliveryOut(
                id=row["id"],
                subscription_id=row["subscription_id"],
                event_id=row["event_id"],
                event_type=types[row["event_seq"]],
                line_id=row["line_id"],
                kind=kind,
                state=row["state"],
                attempts=0,
                next_attempt_at=now,
                last_status_code=None,
                last_error=None,
                created_at=now,
                completed_at=None,
            )
        )
    return schemas.DeliveriesCreated(deliveries=out)


async def resend_event(
    session: AsyncSession, event_id: str, *, subscription_id: str | None = None
) -> schemas.DeliveriesCreated:
    """Send an event again to every active subscription that got it (or to the one named)."""
    try:
        parsed = uuid.UUID(event_id)
    except ValueError:
        raise EventNotFound(f"'{event_id}' is not an event id (expected a UUID).") from None
    event = await repository.get_event(session, parsed)
    if event is None:
        raise EventNotFound(f"No event with id {event_id}.")
    if subscription_id is not None:
        subscription = await require_any_subscription(session, subscription_id)
        if subscription.partner_id != event.partner_id:
            raise InvalidParameter(f"Event {event_id} belongs to another partner than the subscription.")
        _usable(subscription)
        targets = [subscription]
    else:
        targets = []
        for got in await repository.subscriptions_that_got(session, event.seq):
            subscription = await require_any_subscription(session, got)
            if subscription.is_active and subscription.deleted_at is None:
                targets.append(subscription)
        if not targets:
            raise Conflict(f"No active subscription received event {event_id}; name one with --subscription.")
    return await _queue(session, [(subscription.id, event) for subscription in targets], "resend")


async def replay(session: AsyncSession, subscription_id: str, since: datetime) -> schemas.DeliveriesCreated:
    """Queue, in order, every event since `since` that the subscription matches but has not received.

    Events it already received, or that are on their way to it, are skipped; events from while it was
    inactive or that failed are sent. Use `resend` for a second copy of a delivered event.
    """
    subscription = await require_any_subscription(session, parse_subscription_id(subscription_id))
    _usable(subscription)
    events = await repository.events_since(
        session, subscription.partner_id, since, subscription.subscribed_events
    )
    if not events:
        return schemas.DeliveriesCreated(deliveries=[])
    done = await repository.delivered_seqs(session, subscription.id, events[0].seq)
    numbers = await queue.line_numbers(session, {e.line_id for e in events if e.line_id is not None})
    plans = []
    for event in events:
        number = (numbers.get(event.line_id) if event.line_id else None) or event.data.get("phone_number")
        if event.seq not in done and fanout.matches(subscription, event.event_type, number):
            plans.append((subscription.id, event))
    if len(plans) > MAX_REPLAY:
        raise InvalidParameter(
            f"{len(plans)} events to replay; at most {MAX_REPLAY} at once. Choose a later --since."
        )
    return await _queue(session, plans, "replay")


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_pending_at: datetime | None
    oldest_due_at: datetime | None
    failing: Sequence[WebhookSubscription]
    failing_pending: dict[uuid.UUID, int]


async def backlog(session: AsyncSession, now: datetime) -> Backlog:
    """The operator's view of delivery health: what waits, since when, and which subscriptions fail."""
    pending, oldest, oldest_due = await repository.backlog(session, now)
    failing = await repository.failing_subscriptions(session)
    counts = await repository.pending_counts(session, [subscription.id for subscription in failing])
    return Backlog(
        pending=pending,
        oldest_pending_at=as_utc(oldest) if oldest else None,
        oldest_due_at=as_utc(oldest_due) if oldest_due else None,
        failing=failing,
        failing_pending=counts,
    )
