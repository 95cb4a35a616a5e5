"""Partner accounts and API keys (only a SHA-256 hash of each key is stored)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from phoneline.db.base import Base, utcnow, uuid_pk


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # advise (Linq's behaviour: only a flag blocks sends) or enforce (reputation/pacing.py).
    pacing_mode: Mapped[str] = mapped_column(String(16), default="advise", server_default="advise")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    # The visible start of the key, so an operator can name a key without holding it.
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
