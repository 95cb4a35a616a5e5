"""The carrier-bridge replay store: the `webhook-id` of every signed bridge request recently applied."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from phoneline.db.base import Base, utcnow


class BridgeRequest(Base):
    """One applied bridge request. Kept while its signature could still be accepted (the timestamp
    tolerance either side of now), then pruned: past that the signature check refuses a replay."""

    __tablename__ = "bridge_requests"

    webhook_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    signed_at: Mapped[datetime] = mapped_column(index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
