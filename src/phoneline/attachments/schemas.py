"""Wire shapes of `/v3/attachments`, as linq-python's `attachment_*` types read them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class AttachmentCreateIn(BaseModel):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=1, max_length=127)
    size_bytes: int = Field(ge=1)


class AttachmentCreatedOut(BaseModel):
    attachment_id: str
    upload_url: str
    http_method: Literal["PUT"] = "PUT"
    required_headers: dict[str, str]
    expires_at: datetime
    download_url: str


class AttachmentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size_bytes: int
    status: Literal["pending", "complete", "failed"]
    created_at: datetime
    download_url: str | None
