"""The partners' webhook subscriptions, and the deliveries and attempts that carry outbox events
(events/models.py) to them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from phoneline.db.base import Base, utcnow, uuid_pk


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for its time, or in flight under a lease
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a final 4xx, or every retry used up
    CANCELLED = "cancelled"  # its subscription was deactivated or deleted first


class AttemptOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    RETRY = "retry"  # failed; another attempt is scheduled
    FAILED = "failed"  # failed; no more attempts


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        # Unique per partner among live subscriptions; a deleted one frees its URL.
        Index(
            "uq_webhook_subscriptions_partner_target",
            "partner_id",
            "target_url",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    target_url: Mapped[str] = mapped_column(String(2048))
    subscribed_events: Mapped[list[str]] = mapped_column(JSON)
    # None (or empty) means every line.
    phone_numbers: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    webhook_version: Mapped[str] = mapped_column(String(16))
    # Fernet token of the `whsec_...` string (crypto.SecretBox); the plaintext is shown once, on create.
    signing_secret_encrypted: Mapped[str] = mapped_column(Text)
    # Accepted and echoed for client compatibility; delivery affinity itself is not implemented.
    routing_id_header: Mapped[str | None] = mapped_column(String(128), default=None)
    routing_key_header: Mapped[str | None] = mapped_column(String(128), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    deactivated_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Start of the current run of failed attempts (None after any success): drives the 24 h cut-off.
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    # Highest share of the failure window already reported to the partner's alert channels (0, 50, 90).
    failure_alert_level: Mapped[int] = mapped_column(default=0)
    # The breaker (docs/webhooks.md): timeouts and connection failures in a row, and until when the
    # subscription's deliveries wait because of them.
    breaker_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    breaker_open_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Soft delete: the delivery log outlives the subscription.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class WebhookDelivery(Base):
    """One event on its way to one subscription, across all its attempts."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # What the dispatcher scans: due pending deliveries, in the claim's order (so a LIMIT stops early).
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            "event_seq",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        # The per-line order check: is an earlier event for this (subscription, line) still pending?
        Index(
            "ix_webhook_deliveries_line_order",
            "subscription_id",
            "line_id",
            "event_seq",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_webhook_deliveries_subscription_created", "subscription_id", "created_at"),
        # A claim counts each subscription's attempts in flight (leased rows) without reading its backlog.
        Index(
            "ix_webhook_deliveries_leased",
            "subscription_id",
            sqlite_where=text("lease_owner IS NOT NULL"),
            postgresql_where=text("lease_owner IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("outbox_events.seq", ondelete="CASCADE"),
        index=True,
    )
    # Copied from the event: the public id (webhook-id) and the line that orders it.
    event_id: Mapped[uuid.UUID] = mapped_column(index=True)
    line_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # initial (fan-out), resend or replay: why this delivery exists.
    kind: Mapped[str] = mapped_column(String(16), default="initial")
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(128), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class WebhookAttempt(Base):
    """One POST (or a refusal to make it): what happened and what comes next."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_number", "delivery_id", "number"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int]
    worker: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    latency_ms: Mapped[float]
    status_code: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # At most PHONELINE_WEBHOOK_RESPONSE_MAX_BYTES of the body, decoded leniently.
    response_excerpt: Mapped[str | None] = mapped_column(Text, default=None)
    outcome: Mapped[str] = mapped_column(String(16))
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
