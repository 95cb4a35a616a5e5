"""A partner's alert settings, and the alerts on their way to Slack or PagerDuty.

Alerts are planned from the same outbox rows as webhooks, in the transaction that fans those rows
out, so a crash between a line change and its alert loses nothing.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from phoneline.db.base import Base, utcnow, uuid_pk


class SlackOn(enum.StrEnum):
    OFF = "off"
    STATUS = "status"
    STATUS_AND_HEALTH = "status,health"


class Channel(enum.StrEnum):
    SLACK = "slack"
    PAGERDUTY = "pagerduty"


class AlertKind(enum.StrEnum):
    LINE_STATUS = "line_status"
    LINE_HEALTH = "line_health"
    SUBSCRIPTION_FAILING = "subscription_failing"
    PAGE_TRIGGER = "page_trigger"
    PAGE_RESOLVE = "page_resolve"


class AlertState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class PartnerAlertSettings(Base):
    __tablename__ = "partner_alert_settings"

    partner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    # Both hold credentials (a Slack webhook URL is its own token): stored encrypted (crypto.SecretBox).
    slack_webhook_url_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    slack_on: Mapped[str] = mapped_column(String(32), default=SlackOn.STATUS.value)
    pagerduty_routing_key_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    # E.164 numbers whose flags page on-call.
    production_lines: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertNotification(Base):
    """One change to tell one channel. Slack combines a partner's pending ones into one message."""

    __tablename__ = "alert_notifications"
    __table_args__ = (
        Index(
            "ix_alert_notifications_due",
            "channel",
            "next_attempt_at",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_alert_notifications_partner_created", "partner_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    # The outbox event it comes from (None for alerts about subscriptions); orders pages per line.
    event_seq: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), default=None
    )
    line_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default=AlertState.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(128), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
