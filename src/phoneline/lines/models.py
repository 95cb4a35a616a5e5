"""The `lines` table and the line history that records every change to a line."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from phoneline.db.base import Base, utcnow, uuid_pk


class LineStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    FLAGGED = "FLAGGED"


class HealthStatus(enum.StrEnum):
    HEALTHY = "HEALTHY"
    AT_RISK = "AT_RISK"
    CRITICAL = "CRITICAL"


class LineType(enum.StrEnum):
    IMESSAGE = "iMessage"
    RCS = "RCS"


DEFAULT_CAPABILITIES: dict[str, bool] = {"sms": True, "mms": True, "voice": False}


class Line(Base):
    __tablename__ = "lines"

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[str] = mapped_column(String(20), unique=True)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("partners.id", ondelete="RESTRICT"), index=True, default=None
    )
    status: Mapped[str] = mapped_column(String(16), default=LineStatus.ACTIVE.value)
    health_status: Mapped[str] = mapped_column(String(16), default=HealthStatus.HEALTHY.value)
    forwarding_number: Mapped[str | None] = mapped_column(String(20), default=None)
    line_type: Mapped[str] = mapped_column(String(16), default=LineType.IMESSAGE.value)
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON, default=lambda: dict(DEFAULT_CAPABILITIES))
    flag_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Health hysteresis (reputation/dwell.py): a better status waiting out its dwell time.
    health_candidate: Mapped[str | None] = mapped_column(String(16), default=None)
    health_candidate_since: Mapped[datetime | None] = mapped_column(default=None)
    health_scored_at: Mapped[datetime | None] = mapped_column(default=None)
    # The drivers behind the current verdict: [{key, severity, metric, summary}].
    health_drivers: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class HistoryField(enum.StrEnum):
    OWNER = "owner"
    STATUS = "status"
    HEALTH = "health_status"
    FORWARDING = "forwarding_number"


class LineHistory(Base):
    """One row per change of owner, status, health or forwarding number."""

    __tablename__ = "line_history"
    __table_args__ = (Index("ix_line_history_line_created", "line_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"))
    # The owner when the change happened, so a partner's timeline never shows another owner's era.
    partner_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text, default=None)
    new_value: Mapped[str | None] = mapped_column(Text, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactCard(Base):
    """The name and photo a line presents (iMessage Name and Photo Sharing), set by the partner that
    holds the line. Read by the vCard of `GET /v3/available_number` and by `share_contact_card`."""

    __tablename__ = "contact_cards"

    id: Mapped[uuid.UUID] = uuid_pk()
    # One card per line and owner: a line that moves to another partner does not take the card along.
    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"), unique=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100), default=None)
    image_url: Mapped[str | None] = mapped_column(Text, default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactCardWrite(Base):
    """One POST or PATCH of a line's contact card, kept for Linq's per-number budget (3 per 10 minutes,
    lines/contact_cards.py); rows older than the window are dropped on the line's next write."""

    __tablename__ = "contact_card_writes"
    __table_args__ = (Index("ix_contact_card_writes_line_written", "line_id", "written_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"))
    written_at: Mapped[datetime] = mapped_column()
