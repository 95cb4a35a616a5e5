"""The `login_sessions` table: one row per dashboard or console log-in, referenced by a random token."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from phoneline.db.base import Base, utcnow, uuid_pk


class SessionKind(enum.StrEnum):
    PARTNER = "partner"
    OPERATOR = "operator"


class LoginSession(Base):
    """A log-in. The cookie holds the token; only its SHA-256 is stored, so a copy of the database opens
    no session. A partner session names the API key it was opened with, an operator session the
    fingerprint of the admin token: either credential going away ends the session."""

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_expires_at", "expires_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), default=None, index=True
    )
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), default=None, index=True
    )
    admin_token_fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The absolute limit (created_at + PHONELINE_SESSION_MAX_S); the idle limit is read from settings.
    expires_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
