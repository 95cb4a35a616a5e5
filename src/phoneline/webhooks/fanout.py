"""Fan-out: each outbox event becomes one delivery per matching active subscription of its partner.

A subscription matches when `subscribed_events` names the event type and its `phone_numbers` filter
(when set) names the event's line. The filter selects lines, so an event that concerns no line at all
(an account event such as `webhook_subscription.created`) is not held back by it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.events.types import EVENT_CLASSES
from phoneline.webhooks import queue
from phoneline.webhooks.models import DeliveryState, WebhookSubscription


def matches(subscription: WebhookSubscription, event_type: str, number: str | None) -> bool:
    if event_type not in subscription.subscribed_events:
        return False
    if subscription.phone_numbers and _line_scoped(event_type):
        return number is not None and number in subscription.phone_numbers
    return True


def _line_scoped(event_type: str) -> bool:
    known = EVENT_CLASSES.get(event_type)
    return known is None or known.line_scoped


def delivery_row(
    subscription_id: uuid.UUID, event: queue.ClaimedEvent, now: datetime, kind: str = "initial"
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "subscription_id": subscription_id,
        "event_seq": event.seq,
        "event_id": event.id,
        "line_id": event.line_id,
        "kind": kind,
        "state": DeliveryState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


async def fan_out(session: AsyncSession, now: datetime, limit: int) -> list[queue.ClaimedEvent]:
    """Plan deliveries for up to `limit` events not yet fanned out; returns those events."""
    events = await queue.claim_undispatched_events(session, now, limit)
    if not events:
        return events
    subscriptions_of: dict[uuid.UUID, list[WebhookSubscription]] = defaultdict(list)
    for subscription in await queue.active_subscriptions(session, {event.partner_id for event in events}):
        subscriptions_of[subscription.partner_id].append(subscription)
    rows = []
    for event in events:
        if not subscriptions_of.get(event.partner_id):
            continue
        number = event.line_number
        if number is None and (typed := event.typed()) is not None:
            number = typed.phone_number
        for subscription in subscriptions_of[event.partner_id]:
            if matches(subscription, event.event_type, number):
                rows.append(delivery_row(subscription.id, event, now))
    await queue.insert_deliveries(session, rows)
    return events
