"""Reputation audits: one row per requested audit of a line, holding its report once complete."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from phoneline.db.base import Base, utcnow, uuid_pk


class ReputationAudit(Base):
    __tablename__ = "reputation_audits"
    __table_args__ = (Index("ix_reputation_audits_line_created", "line_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | complete | error
    error: Mapped[str | None] = mapped_column(Text, default=None)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    generated_at: Mapped[datetime | None] = mapped_column(default=None)
