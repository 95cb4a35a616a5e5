"""Tooling for deliveries: read the log, resend one event, replay a subscription's window, send a test event.

Resent and replayed deliveries are new deliveries of the same event, so they carry the same
`webhook-id` (= event_id) and receivers deduplicate them like any retry.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.base import as_utc, utcnow
from phoneline.errors import Conflict, InvalidParameter, NotFound
from phoneline.events import outbox
from phoneline.events.models import OutboxEvent
from phoneline.tracing import current_trace_id
from phoneline.webhooks import fanout, queue, repository, schemas
from phoneline.webhooks.events import KNOWN_EVENT_TYPES
from phoneline.webhooks.models import WebhookSubscription
from phoneline.webhooks.signing import iso
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


TEST_KIND = "test"


def sample_data(event_type: str, subscription: WebhookSubscription, now: datetime) -> dict[str, Any]:
    """The `data` of a test event: the shape of the real one where phoneline emits it, marked as a test."""
    number = (subscription.phone_numbers or ["+12025550100"])[0]
    data: dict[str, Any] = {"test": True, "description": "A test event from the phoneline dashboard."}
    if event_type == "phone_number.status_updated":
        data |= {
            "phone_number": number, "previous_status": "ACTIVE", "new_status": "ACTIVE",
            "previous_health_status": "HEALTHY", "new_health_status": "HEALTHY", "changed_at": iso(now),
        }  # fmt: skip
    elif event_type.startswith("phone_number."):
        data |= {"phone_number": number, "changed_at": iso(now)}
    return data


async def send_test_event(
    session: AsyncSession, subscription: WebhookSubscription, event_type: str
) -> schemas.DeliveriesCreated:
    """Send one test event of `event_type` to this subscription only, signed like any other delivery.

    The event is written already dispatched, so fan-out never sends it to another subscription and no
    alert is planned from it; it is about no line, so it never waits behind a line's earlier events.
    """
    _usable(subscription)
    if event_type not in KNOWN_EVENT_TYPES:
        raise InvalidParameter(f"'{event_type}' is not a webhook event type.")
    now = utcnow()
    event = OutboxEvent(
        partner_id=subscription.partner_id,
        line_id=None,
        event_type=event_type,
        data=sample_data(event_type, subscription, now),
        trace_id=current_trace_id(),
        created_at=now,
        dispatched_at=now,
    )
    session.add(event)
    await session.flush()
    return await _queue(session, [(subscription.id, event)], TEST_KIND)


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
