"""Wire shapes for webhook subscriptions (the Linq v3 partner shapes) and the operator's delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from phoneline import inputs
from phoneline.db.base import as_utc
from phoneline.inputs import EventType, Handle, Name, RequestModel, Url
from phoneline.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


class SubscriptionCreate(RequestModel):
    target_url: Url
    subscribed_events: list[EventType] = Field(max_length=inputs.MAX_EVENT_TYPES)
    phone_numbers: list[Handle] | None = Field(None, max_length=inputs.MAX_LINE_LIST)
    routing_id_header: Name | None = None
    routing_key_header: Name | None = None


class SubscriptionUpdate(RequestModel):
    """Every field optional; `phone_numbers: null` (or []) clears the filter, so presence matters."""

    target_url: Url | None = None
    subscribed_events: list[EventType] | None = Field(None, max_length=inputs.MAX_EVENT_TYPES)
    is_active: bool | None = None
    phone_numbers: list[Handle] | None = Field(None, max_length=inputs.MAX_LINE_LIST)
    routing_id_header: Name | None = None
    routing_key_header: Name | None = None


class Subscription(BaseModel):
    id: uuid.UUID
    target_url: str
    subscribed_events: list[str]
    phone_numbers: list[str] | None
    is_active: bool
    routing_id_header: str | None
    routing_key_header: str | None
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(Subscription):
    # Shown only in this response; stored encrypted.
    signing_secret: str


class SubscriptionList(BaseModel):
    subscriptions: list[Subscription]


class EventTypeList(BaseModel):
    events: list[str]
    doc_url: str


def _fields(subscription: WebhookSubscription) -> dict[str, object]:
    return {
        "id": subscription.id,
        "target_url": subscription.target_url,
        "subscribed_events": list(subscription.subscribed_events),
        "phone_numbers": list(subscription.phone_numbers) if subscription.phone_numbers else None,
        "is_active": subscription.is_active,
        "routing_id_header": subscription.routing_id_header,
        "routing_key_header": subscription.routing_key_header,
        "created_at": as_utc(subscription.created_at),
        "updated_at": as_utc(subscription.updated_at),
    }


def subscription_out(subscription: WebhookSubscription) -> Subscription:
    return Subscription.model_validate(_fields(subscription))


def subscription_created(subscription: WebhookSubscription, signing_secret: str) -> SubscriptionCreated:
    return SubscriptionCreated.model_validate({**_fields(subscription), "signing_secret": signing_secret})


# --- operator views --------------------------------------------------------------------------------


class OperatorSubscription(Subscription):
    partner_id: uuid.UUID
    webhook_version: str
    deactivated_reason: str | None
    failing_since: datetime | None
    deleted_at: datetime | None


class OperatorSubscriptionList(BaseModel):
    subscriptions: list[OperatorSubscription]


def operator_subscription(subscription: WebhookSubscription) -> OperatorSubscription:
    return OperatorSubscription.model_validate(
        {
            **_fields(subscription),
            "partner_id": subscription.partner_id,
            "webhook_version": subscription.webhook_version,
            "deactivated_reason": subscription.deactivated_reason,
            "failing_since": as_utc(subscription.failing_since) if subscription.failing_since else None,
            "deleted_at": as_utc(subscription.deleted_at) if subscription.deleted_at else None,
        }
    )


class AttemptOut(BaseModel):
    number: int
    worker: str
    started_at: datetime
    latency_ms: float
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    outcome: str
    next_attempt_at: datetime | None


class DeliveryOut(BaseModel):
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    line_id: uuid.UUID | None
    kind: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    attempt_log: list[AttemptOut] = Field(default_factory=list)


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


class DeliveriesCreated(BaseModel):
    """What resend and replay queued."""

    deliveries: list[DeliveryOut]


class ReplayRequest(RequestModel):
    since: datetime


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def attempt_out(attempt: WebhookAttempt) -> AttemptOut:
    return AttemptOut(
        number=attempt.number,
        worker=attempt.worker,
        started_at=as_utc(attempt.started_at),
        latency_ms=round(attempt.latency_ms, 3),
        status_code=attempt.status_code,
        error=attempt.error,
        response_excerpt=attempt.response_excerpt,
        outcome=attempt.outcome,
        next_attempt_at=_utc(attempt.next_attempt_at),
    )


def delivery_out(
    delivery: WebhookDelivery, event_type: str, attempts: list[WebhookAttempt] | None = None
) -> DeliveryOut:
    pending = delivery.state == "pending"
    return DeliveryOut(
        id=delivery.id,
        subscription_id=delivery.subscription_id,
        event_id=delivery.event_id,
        event_type=event_type,
        line_id=delivery.line_id,
        kind=delivery.kind,
        state=delivery.state,
        attempts=delivery.attempts,
        next_attempt_at=_utc(delivery.next_attempt_at) if pending else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=as_utc(delivery.created_at),
        completed_at=_utc(delivery.completed_at),
        attempt_log=[attempt_out(attempt) for attempt in attempts or []],
    )
