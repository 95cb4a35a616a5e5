"""Files partners send: uploaded to the attachment store, or fetched once from a media URL."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from phoneline.db.base import Base, utcnow, uuid_pk


class Attachment(Base):
    """A media file a message refers to: uploaded through POST /v3/attachments, a voice memo we fetched,
    or a media part given by URL."""

    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(127))
    # The exact size in bytes: declared by POST /v3/attachments and checked against the upload, or
    # counted while a voice memo or a media part by URL was fetched.
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # pending (waiting for its upload) | complete | failed (wrong size, or not uploaded in time).
    status: Mapped[str] = mapped_column(String(16), default="complete", server_default="complete")
    # Where the bytes are in the attachment store (attachments/store.py); None for rows from before it.
    object_key: Mapped[str | None] = mapped_column(Text, default=None)
    upload_expires_at: Mapped[datetime | None] = mapped_column(default=None)
