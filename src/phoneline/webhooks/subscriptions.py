"""The rules for webhook subscriptions. Partner API, CLI and admin API all call these; none commits.

- `target_url`: https and public (net/outbound.py), unique per partner among live subscriptions;
  `?version=` picks the payload version, else the creation date does.
- `signing_secret`: `whsec_` + base64 of 32 random bytes, returned once, stored encrypted.
- `phone_numbers`: an E.164 filter; empty or null means every line.

Every change emits its `webhook_subscription.*` account event in the same transaction (who gets them:
webhooks/fanout.py and docs/webhooks.md).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.crypto import SecretBox
from phoneline.db.base import utcnow
from phoneline.errors import InvalidBody, NotFound
from phoneline.events import types as event_types
from phoneline.events.outbox import emit
from phoneline.lines.numbers import require_e164
from phoneline.logging import get_logger
from phoneline.net.outbound import OutboundRefused, validate_url
from phoneline.settings import Settings
from phoneline.webhooks import repository
from phoneline.webhooks.events import KNOWN_EVENT_TYPES, KNOWN_WEBHOOK_VERSIONS, default_webhook_version
from phoneline.webhooks.models import WebhookSubscription
from phoneline.webhooks.schemas import SubscriptionCreate, SubscriptionUpdate

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_HEADER_NAME_LENGTH = 128

log = get_logger("phoneline.webhooks")


class SubscriptionNotFound(NotFound):
    message = "Webhook subscription not found."


@dataclass(frozen=True)
class ChangedBy:
    """Who changed a subscription, as its account event says: Linq's actor type and origin."""

    actor: str
    origin: str


BY_API = ChangedBy("api", "api")
# phoneline's dashboard is opened with an API key and knows no team members: the key is the actor.
BY_DASHBOARD = ChangedBy("api", "dashboard")
BY_PHONELINE = ChangedBy("system", "linq")


def public_target(target_url: str) -> str:
    """The target URL as account events show it: without credentials, query string or fragment."""
    return str(httpx.URL(target_url).copy_with(userinfo=b"", query=None, fragment=None))


class _About(TypedDict):
    partner_id: uuid.UUID
    subscription_id: uuid.UUID
    target_url: str
    occurred_at: datetime
    actor: str
    origin: str


def _about(subscription: WebhookSubscription, by: ChangedBy, now: datetime) -> _About:
    """The fields every event about this subscription shares."""
    return {
        "partner_id": subscription.partner_id,
        "subscription_id": subscription.id,
        "target_url": public_target(subscription.target_url),
        "occurred_at": now,
        "actor": by.actor,
        "origin": by.origin,
    }


def _routing_headers(subscription: WebhookSubscription) -> event_types.RoutingHeaders:
    if subscription.routing_id_header is None and subscription.routing_key_header is None:
        return None
    return {
        "routing_id_header": subscription.routing_id_header,
        "routing_key_header": subscription.routing_key_header,
    }


@dataclass(frozen=True)
class _Snapshot:
    """What a subscription's update events compare, taken before the update."""

    target_url: str
    subscribed_events: list[str]
    phone_numbers: list[str] | None
    routing_headers: event_types.RoutingHeaders
    is_active: bool

    @classmethod
    def of(cls, subscription: WebhookSubscription) -> _Snapshot:
        return cls(
            target_url=subscription.target_url,
            subscribed_events=list(subscription.subscribed_events),
            phone_numbers=list(subscription.phone_numbers) if subscription.phone_numbers else None,
            routing_headers=_routing_headers(subscription),
            is_active=subscription.is_active,
        )


def _emit_updates(
    session: AsyncSession, before: _Snapshot, subscription: WebhookSubscription, by: ChangedBy, now: datetime
) -> None:
    """One event per setting that changed (none for a setting given again unchanged)."""
    after = _Snapshot.of(subscription)
    about = _about(subscription, by, now)
    if after.target_url != before.target_url:
        previous = public_target(before.target_url)
        emit(
            session,
            event_types.WebhookSubscriptionTargetUrlChanged(
                **about, previous=previous, current=about["target_url"]
            ),
        )
    if set(after.subscribed_events) != set(before.subscribed_events):
        emit(
            session,
            event_types.WebhookSubscriptionEventsUpdated(
                **about, previous=before.subscribed_events, current=after.subscribed_events
            ),
        )
    if set(after.phone_numbers or ()) != set(before.phone_numbers or ()):
        emit(
            session,
            event_types.WebhookSubscriptionPhoneNumbersUpdated(
                **about, previous=before.phone_numbers, current=after.phone_numbers
            ),
        )
    if after.routing_headers != before.routing_headers:
        routing_event = (
            event_types.WebhookSubscriptionRoutingHeadersSet
            if after.routing_headers is not None
            else event_types.WebhookSubscriptionRoutingHeadersCleared
        )
        emit(session, routing_event(**about, previous=before.routing_headers, current=after.routing_headers))
    if after.is_active != before.is_active:
        toggled = (
            event_types.WebhookSubscriptionEnabled
            if after.is_active
            else event_types.WebhookSubscriptionDisabled
        )
        emit(session, toggled(**about))


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signing_secret(settings: Settings, subscription: WebhookSubscription) -> str:
    return SecretBox.from_settings(settings).decrypt(subscription.signing_secret_encrypted)


def parse_subscription_id(value: str | uuid.UUID) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        raise SubscriptionNotFound() from None


def _event_types(values: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(value.strip() for value in values))
    if not chosen:
        raise InvalidBody("subscribed_events needs at least one event type (see GET /v3/webhook-events).")
    unknown = [value for value in chosen if value not in KNOWN_EVENT_TYPES]
    if unknown:
        raise InvalidBody(f"Unknown event type '{unknown[0]}'; GET /v3/webhook-events lists them all.")
    return chosen


def _phone_numbers(values: Sequence[str] | None) -> list[str] | None:
    if not values:
        return None
    return list(dict.fromkeys(require_e164(value, what="`phone_numbers` entry") for value in values))


def _header_name(value: str | None, field: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > MAX_HEADER_NAME_LENGTH or not all(c.isalnum() or c == "-" for c in value):
        raise InvalidBody(f"'{field}' must be an HTTP header name (letters, digits and '-').")
    return value


def requested_version(target_url: str) -> str | None:
    """`?version=YYYY-MM-DD` on the target URL, refused unless it is a version we know."""
    if "version" not in httpx.URL(target_url).params:
        return None
    version = str(httpx.URL(target_url).params["version"])
    if version not in KNOWN_WEBHOOK_VERSIONS:
        known = ", ".join(sorted(KNOWN_WEBHOOK_VERSIONS))
        raise OutboundRefused(f"Unknown webhook version '{version}' in target_url; known: {known}.")
    return version


async def _checked_target(
    session: AsyncSession,
    settings: Settings,
    partner_id: uuid.UUID,
    target_url: str,
    *,
    exclude: uuid.UUID | None = None,
) -> str:
    target = await validate_url(
        target_url, allow_private=settings.allow_private_webhook_targets, what="target_url"
    )
    existing = await repository.find_by_target(session, partner_id, target)
    if existing is not None and existing.id != exclude:
        raise OutboundRefused(f"target_url is already used by your webhook subscription {existing.id}.")
    return target


async def _flush_unique(session: AsyncSession, target_url: str) -> None:
    # Two concurrent requests can both pass the lookup; the partial unique index decides.
    try:
        await session.flush()
    except IntegrityError:
        raise OutboundRefused(f"target_url {target_url} is already used by another subscription.") from None


async def create_subscription(
    session: AsyncSession,
    settings: Settings,
    partner_id: uuid.UUID,
    request: SubscriptionCreate,
    by: ChangedBy = BY_API,
) -> tuple[WebhookSubscription, str]:
    """Returns the subscription and its signing secret in plaintext (shown once, then only encrypted)."""
    events = _event_types(request.subscribed_events)
    numbers = _phone_numbers(request.phone_numbers)
    target = await _checked_target(session, settings, partner_id, request.target_url)
    box = SecretBox.from_settings(settings)
    now = utcnow()
    secret = new_signing_secret()
    subscription = WebhookSubscription(
        id=uuid.uuid4(),
        partner_id=partner_id,
        target_url=target,
        subscribed_events=events,
        phone_numbers=numbers,
        webhook_version=requested_version(target) or default_webhook_version(now),
        signing_secret_encrypted=box.encrypt(secret),
        routing_id_header=_header_name(request.routing_id_header, "routing_id_header"),
        routing_key_header=_header_name(request.routing_key_header, "routing_key_header"),
        is_active=True,
        failure_alert_level=0,
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    await _flush_unique(session, target)
    emit(
        session, event_types.WebhookSubscriptionCreated(**_about(subscription, by, now), events=tuple(events))
    )
    log.info("webhook_subscription_created", subscription_id=str(subscription.id), partner_id=str(partner_id))
    return subscription, secret


async def require_subscription(
    session: AsyncSession, partner_id: uuid.UUID, subscription_id: str | uuid.UUID
) -> WebhookSubscription:
    subscription = await repository.get_for_partner(
        session, partner_id, parse_subscription_id(subscription_id)
    )
    if subscription is None:
        raise SubscriptionNotFound()
    return subscription


async def require_any_subscription(
    session: AsyncSession, subscription_id: str | uuid.UUID
) -> WebhookSubscription:
    """Operator lookup: any partner's subscription, deleted ones included (their log stays readable)."""
    subscription = await repository.get(session, parse_subscription_id(subscription_id))
    if subscription is None:
        raise SubscriptionNotFound(f"No webhook subscription with id {subscription_id}.")
    return subscription


async def list_subscriptions(session: AsyncSession, partner_id: uuid.UUID) -> Sequence[WebhookSubscription]:
    return await repository.list_for_partner(session, partner_id)


def activate(subscription: WebhookSubscription, now: datetime) -> None:
    subscription.is_active = True
    subscription.deactivated_reason = None
    subscription.failing_since = None
    subscription.failure_alert_level = 0
    subscription.updated_at = now


async def deactivate(
    session: AsyncSession, subscription: WebhookSubscription, reason: str, now: datetime
) -> None:
    """Stop delivering: pending deliveries are cancelled (replay recovers them after reactivation)."""
    subscription.is_active = False
    subscription.deactivated_reason = reason
    subscription.updated_at = now
    await repository.cancel_pending(session, subscription.id, reason, now)
    log.info("webhook_subscription_deactivated", subscription_id=str(subscription.id), reason=reason)


async def disable_subscription(
    session: AsyncSession, subscription: WebhookSubscription, reason: str, now: datetime
) -> bool:
    """phoneline stops a subscription on its own (a 410, the failure window) and says why in its
    `webhook_subscription.disabled` event. False if it was no longer active: on PostgreSQL the row is
    locked and read again first, so two workers cannot both disable it and emit the event twice."""
    await session.flush()  # refresh() would drop changes not yet written
    await session.refresh(subscription, with_for_update=True)
    if not subscription.is_active or subscription.deleted_at is not None:
        return False
    await deactivate(session, subscription, reason, now)
    emit(
        session,
        event_types.WebhookSubscriptionDisabled(**_about(subscription, BY_PHONELINE, now), detail=reason),
    )
    return True


async def update_subscription(
    session: AsyncSession,
    settings: Settings,
    partner_id: uuid.UUID,
    subscription_id: str | uuid.UUID,
    request: SubscriptionUpdate,
    by: ChangedBy = BY_API,
) -> WebhookSubscription:
    subscription = await require_subscription(session, partner_id, subscription_id)
    before = _Snapshot.of(subscription)
    given = request.model_fields_set
    now = utcnow()
    # Validate everything before changing anything: a refused update leaves the subscription as it was.
    events = _event_types(request.subscribed_events or []) if "subscribed_events" in given else None
    numbers = _phone_numbers(request.phone_numbers) if "phone_numbers" in given else None
    target = None
    if "target_url" in given and request.target_url is not None:
        target = await _checked_target(
            session, settings, partner_id, request.target_url, exclude=subscription.id
        )
    id_header = _header_name(request.routing_id_header, "routing_id_header")
    key_header = _header_name(request.routing_key_header, "routing_key_header")

    if events is not None:
        subscription.subscribed_events = events
    if "phone_numbers" in given:
        subscription.phone_numbers = numbers
    if target is not None and target != subscription.target_url:
        subscription.target_url = target
        subscription.webhook_version = requested_version(target) or default_webhook_version(
            subscription.created_at
        )
    if "routing_id_header" in given:
        subscription.routing_id_header = id_header
    if "routing_key_header" in given:
        subscription.routing_key_header = key_header
    if request.is_active is True and not subscription.is_active:
        activate(subscription, now)
    elif request.is_active is False and subscription.is_active:
        await deactivate(session, subscription, "deactivated by the partner", now)
    subscription.updated_at = now
    await _flush_unique(session, subscription.target_url)
    _emit_updates(session, before, subscription, by, now)
    return subscription


async def delete_subscription(
    session: AsyncSession,
    partner_id: uuid.UUID,
    subscription_id: str | uuid.UUID,
    by: ChangedBy = BY_API,
) -> None:
    """A soft delete. Its own `webhook_subscription.deleted` event never reaches it: fan-out only
    delivers to live subscriptions."""
    subscription = await require_subscription(session, partner_id, subscription_id)
    now = utcnow()
    await deactivate(session, subscription, "subscription deleted", now)
    subscription.deleted_at = now
    emit(session, event_types.WebhookSubscriptionDeleted(**_about(subscription, by, now)))
