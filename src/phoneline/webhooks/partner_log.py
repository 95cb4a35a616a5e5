"""A partner's own view of webhook delivery (the dashboard's Webhooks portal): the delivery log across its
subscriptions (paged and filtered), one delivery opened, resend of one delivery, replay of a window and a
test event, all scoped to the partner. The console reads the same log with no partner scope.

Another partner's delivery or subscription is NotFound, exactly like an id that does not exist.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.errors import InvalidParameter, NotFound
from phoneline.lines.numbers import to_e164
from phoneline.paging import PageRequest
from phoneline.webhooks import operations, repository, schemas
from phoneline.webhooks.events import KNOWN_EVENT_TYPES
from phoneline.webhooks.models import DeliveryState, WebhookSubscription
from phoneline.webhooks.signing import USER_AGENT, envelope_body
from phoneline.webhooks.subscriptions import (
    require_any_subscription,
    require_subscription,
)


class DeliveryNotFound(NotFound):
    message = "Delivery not found."


async def resend_delivery(
    session: AsyncSession, partner_id: uuid.UUID, delivery_id: str
) -> schemas.DeliveriesCreated:
    """Send a delivery's event again to the same subscription (a new delivery, same webhook-id)."""
    try:
        parsed = uuid.UUID(delivery_id)
    except ValueError:
        raise DeliveryNotFound() from None
    delivery = await repository.delivery_for_partner(session, partner_id, parsed)
    if delivery is None:
        raise DeliveryNotFound()
    # The subscription is the partner's (the delivery was found through it); a deleted one is refused
    # by resend_event with the same sentence the CLI gives.
    return await operations.resend_event(
        session, str(delivery.event_id), subscription_id=str(delivery.subscription_id)
    )


async def replay_since(
    session: AsyncSession, partner_id: uuid.UUID, subscription_id: str, since: str, now: datetime
) -> schemas.DeliveriesCreated:
    subscription = await require_subscription(session, partner_id, subscription_id)
    return await operations.replay(session, str(subscription.id), operations.parse_since(since, now))


# --- the paged, filtered delivery log and one delivery opened ---------------------------------------


def delivery_filter(
    partner_id: uuid.UUID | None,
    event_type: str = "",
    line: str = "",
    state: str = "",
) -> repository.DeliveryFilter:
    """The log's filters from a form; an unknown event type or outcome is refused, not ignored."""
    event_type, line, state = event_type.strip(), line.strip(), state.strip()
    if event_type and event_type not in KNOWN_EVENT_TYPES:
        raise InvalidParameter(f"'{event_type[:80]}' is not a webhook event type.")
    if state and state not in DeliveryState.__members__.values():
        raise InvalidParameter(
            f"'{state[:40]}' is not a delivery outcome; use pending, succeeded, failed or cancelled."
        )
    return repository.DeliveryFilter(
        event_type=event_type or None,
        line_number=to_e164(line, what="line number") if line else None,
        state=state or None,
        partner_id=partner_id,
    )


@dataclass(frozen=True)
class DeliveryLogPage:
    deliveries: list[schemas.DeliveryOut]
    next_cursor: str | None
    previous_cursor: str | None
    line_numbers: dict[uuid.UUID, str]
    targets: dict[uuid.UUID, str]
    partner_ids: dict[uuid.UUID, uuid.UUID]  # subscription -> partner (the console names the partner)


async def delivery_log_page(
    session: AsyncSession, found: repository.DeliveryFilter, request: PageRequest
) -> DeliveryLogPage:
    page = await repository.page_of_deliveries(session, found, request)
    events = await repository.events_by_seq(session, [d.event_seq for d in page.items])
    attempts = await repository.attempts_for(session, [d.id for d in page.items])
    subscriptions = {
        s.id: s
        for s in await repository.subscriptions_by_id(session, [d.subscription_id for d in page.items])
    }
    numbers = await repository.line_numbers_by_id(
        session, [d.line_id for d in page.items if d.line_id is not None]
    )
    return DeliveryLogPage(
        deliveries=[
            schemas.delivery_out(
                delivery,
                events[delivery.event_seq].event_type if delivery.event_seq in events else "?",
                attempts.get(delivery.id, []),
            )
            for delivery in page.items
        ],
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
        line_numbers=numbers,
        targets={sid: s.target_url for sid, s in subscriptions.items()},
        partner_ids={sid: s.partner_id for sid, s in subscriptions.items()},
    )


@dataclass(frozen=True)
class DeliveryDetail:
    delivery: schemas.DeliveryOut
    subscription: WebhookSubscription
    line_number: str | None
    payload: str  # the body as sent, pretty-printed
    headers: list[tuple[str, str]]
    held_behind: schemas.DeliveryOut | None  # the earlier delivery of its line it waits for


async def delivery_detail(
    session: AsyncSession, partner_id: uuid.UUID | None, delivery_id: str
) -> DeliveryDetail:
    """One delivery opened: payload, headers, every attempt, and what it waits behind.

    `partner_id` None is the operator's view; a partner asking for another's delivery gets NotFound.
    """
    try:
        parsed = uuid.UUID(delivery_id)
    except ValueError:
        raise DeliveryNotFound() from None
    delivery = (
        await repository.delivery_for_partner(session, partner_id, parsed)
        if partner_id is not None
        else await repository.delivery_by_id(session, parsed)
    )
    if delivery is None:
        raise DeliveryNotFound()
    event = (await repository.events_by_seq(session, [delivery.event_seq]))[delivery.event_seq]
    subscription = await require_any_subscription(session, delivery.subscription_id)
    attempts = await repository.attempts_for(session, [delivery.id])
    body = envelope_body(
        event_id=event.id, event_type=event.event_type, created_at=event.created_at,
        trace_id=event.trace_id, partner_id=event.partner_id, data=event.data,
        webhook_version=subscription.webhook_version,
    )  # fmt: skip
    headers = [
        ("Content-Type", "application/json"),
        ("User-Agent", USER_AGENT),
        ("webhook-id", str(event.id)),
        ("webhook-timestamp", "the time of each attempt (Unix seconds)"),
        ("webhook-signature", "v1,… computed for each attempt with the subscription's signing secret"),
        ("X-Webhook-Event", event.event_type),
        ("X-Webhook-Subscription-ID", str(subscription.id)),
        ("X-Webhook-Timestamp", "as webhook-timestamp"),
        ("X-Webhook-Signature", "hex HMAC-SHA256, computed for each attempt"),
    ]
    if subscription.routing_id_header:
        headers.append((subscription.routing_id_header, str(subscription.id)))
    blocker = await repository.earliest_pending_before(session, delivery)
    held_behind = None
    if blocker is not None:
        blocker_event = (await repository.events_by_seq(session, [blocker.event_seq]))[blocker.event_seq]
        held_behind = schemas.delivery_out(blocker, blocker_event.event_type)
    numbers = await repository.line_numbers_by_id(session, [delivery.line_id] if delivery.line_id else [])
    return DeliveryDetail(
        delivery=schemas.delivery_out(delivery, event.event_type, attempts.get(delivery.id, [])),
        subscription=subscription,
        line_number=numbers.get(delivery.line_id) if delivery.line_id else None,
        payload=json.dumps(json.loads(body), indent=2, ensure_ascii=False),
        headers=headers,
        held_behind=held_behind,
    )


async def send_test_event(
    session: AsyncSession, partner_id: uuid.UUID, subscription_id: str, event_type: str
) -> schemas.DeliveriesCreated:
    subscription = await require_subscription(session, partner_id, subscription_id)
    return await operations.send_test_event(session, subscription, event_type.strip())
