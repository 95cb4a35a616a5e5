"""A partner's own view of webhook delivery (the dashboard's Webhooks page): the delivery log across its
subscriptions, resend of one delivery and replay of a window, all scoped to the partner.

Another partner's delivery or subscription is NotFound, exactly like an id that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.errors import NotFound
from phoneline.webhooks import operations, repository, schemas
from phoneline.webhooks.models import WebhookSubscription
from phoneline.webhooks.subscriptions import list_subscriptions, require_subscription

DEFAULT_LIMIT = 50


class DeliveryNotFound(NotFound):
    message = "Delivery not found."


@dataclass(frozen=True)
class PartnerWebhooks:
    subscriptions: Sequence[WebhookSubscription]
    deliveries: list[schemas.DeliveryOut]


async def overview(
    session: AsyncSession, partner_id: uuid.UUID, *, limit: int = DEFAULT_LIMIT
) -> PartnerWebhooks:
    found = await list_subscriptions(session, partner_id)
    rows = await repository.deliveries_for_partner(session, partner_id, limit=limit)
    attempts = await repository.attempts_for(session, [delivery.id for delivery, _ in rows])
    return PartnerWebhooks(
        subscriptions=found,
        deliveries=[
            schemas.delivery_out(delivery, event_type, attempts.get(delivery.id, []))
            for delivery, event_type in rows
        ],
    )


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
