"""The rules for attachments: declare, upload (exactly the declared size), read the state, delete.

POST /v3/attachments declares `{filename, content_type, size_bytes}` (at most 100 MB; WebP, SVG, FLAC,
OGG and executables refused) and answers an upload URL valid for 15 minutes with the headers to send.
The bytes go to the attachment store (store.py): through phoneline's own upload endpoint on the local
store, which refuses a body of any other size, or straight to S3 by the presigned URL, after which the
size is checked on the next read or send. An attachment is `pending` until its bytes are there,
`complete` once they are (of the declared size), `failed` when the size differs or the 15 minutes pass.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from phoneline.attachments import schemas
from phoneline.attachments.media_types import refused_media
from phoneline.attachments.models import Attachment
from phoneline.attachments.store import UPLOAD_TTL, AttachmentStore
from phoneline.db.base import as_utc
from phoneline.errors import (
    AttachmentNotFound,
    AttachmentNotReady,
    FileTooLarge,
    InvalidBody,
    InvalidFileType,
)

PENDING, COMPLETE, FAILED = "pending", "complete", "failed"
# Linq's supported types (linq-python SupportedContentType) less the ones it refuses on send.
SUPPORTED_TYPES = {
    "image/jpeg", "image/png", "image/gif", "image/heic", "image/heif", "image/tiff", "image/bmp",
    "image/x-icon", "video/mp4", "video/quicktime", "video/mpeg", "video/mpeg2", "video/x-msvideo",
    "video/3gpp", "audio/mpeg", "audio/x-m4a", "audio/x-caf", "audio/x-wav", "audio/x-aiff", "audio/aac",
    "audio/midi", "audio/amr", "audio/mp3", "audio/mp4", "audio/aiff", "application/vnd.apple.pkpass",
    "application/pdf", "text/plain", "text/markdown", "text/vcard", "text/rtf", "text/csv", "text/html",
    "text/calendar", "text/xml", "application/json", "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/x-iwork-pages-sffpages", "application/x-iwork-numbers-sffnumbers",
    "application/x-iwork-keynote-sffkey", "application/epub+zip", "application/zip", "application/x-gzip",
}  # fmt: skip


def _key(partner_id: uuid.UUID, attachment_id: uuid.UUID, filename: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[-100:] or "file"
    return f"{partner_id}/{attachment_id}/{safe}"


def check_type(content_type: str, filename: str, limit: int, size: int) -> str:
    mime_type = content_type.split(";", 1)[0].strip().lower()
    refusal = refused_media(mime_type, filename)
    if refusal is not None:
        raise InvalidFileType(refusal)
    if mime_type not in SUPPORTED_TYPES:
        raise InvalidFileType(
            f"{mime_type} is not a type Linq sends; see the supported types in docs/api.md."
        )
    if size > limit:
        raise FileTooLarge(
            f"An attachment is at most {limit // (1024 * 1024)} MB; this one declares {size} bytes."
        )
    return mime_type


async def create(
    session: AsyncSession,
    store: AttachmentStore,
    partner_id: uuid.UUID,
    body: schemas.AttachmentCreateIn,
    *,
    now: datetime,
    limit: int,
) -> schemas.AttachmentCreatedOut:
    mime_type = check_type(body.content_type, body.filename, limit, body.size_bytes)
    attachment_id = uuid.uuid4()
    key = _key(partner_id, attachment_id, body.filename)
    expires_at = now + UPLOAD_TTL
    download_url = await store.download_url(key)
    session.add(
        Attachment(
            id=attachment_id,
            partner_id=partner_id,
            url=download_url,
            filename=body.filename.strip()[:255],
            mime_type=mime_type,
            size_bytes=body.size_bytes,
            status=PENDING,
            object_key=key,
            upload_expires_at=expires_at,
            created_at=now,
        )
    )
    return schemas.AttachmentCreatedOut(
        attachment_id=str(attachment_id),
        upload_url=await store.upload_url(key),
        required_headers={"Content-Type": mime_type},
        expires_at=expires_at,
        download_url=download_url,
    )


async def _get(session: AsyncSession, partner_id: uuid.UUID, attachment_id: str) -> Attachment:
    try:
        parsed = uuid.UUID(attachment_id)
    except ValueError:
        raise AttachmentNotFound() from None
    query = select(Attachment).where(Attachment.partner_id == partner_id, Attachment.id == parsed)
    found = await session.scalar(query)
    if found is None:
        raise AttachmentNotFound()
    return found


async def settle(store: AttachmentStore, attachment: Attachment, now: datetime) -> str:
    """A pending attachment's state from the store: complete once bytes of the declared size are
    there; failed (and the object removed) when they are of another size or the upload window passed."""
    if attachment.status != PENDING or attachment.object_key is None:
        return attachment.status
    size = await store.size_of(attachment.object_key)
    if size is not None and size == attachment.size_bytes:
        return COMPLETE
    if size is not None:
        await store.delete(attachment.object_key)
        return FAILED
    expires = attachment.upload_expires_at
    if expires is not None and as_utc(expires) < now:
        return FAILED
    return PENDING


async def refresh(
    sessions: async_sessionmaker[AsyncSession],
    store: AttachmentStore,
    partner_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
    now: datetime,
) -> None:
    """Settle the pending ones among `ids` (before a send's transaction: the store may be remote)."""
    if not ids:
        return
    async with sessions() as session:
        query = select(Attachment).where(
            Attachment.partner_id == partner_id, Attachment.id.in_(ids), Attachment.status == PENDING
        )
        pending = list((await session.scalars(query)).all())
    if not pending:
        return
    settled = {attachment.id: await settle(store, attachment, now) for attachment in pending}
    async with sessions() as session:
        for attachment_id, status in settled.items():
            row = await session.get(Attachment, attachment_id)
            if row is not None and row.status == PENDING:
                row.status = status
        await session.commit()


async def describe(
    session: AsyncSession, store: AttachmentStore, partner_id: uuid.UUID, attachment_id: str, now: datetime
) -> schemas.AttachmentOut:
    attachment = await _get(session, partner_id, attachment_id)
    attachment.status = await settle(store, attachment, now)
    download_url = None
    if attachment.status == COMPLETE:
        download_url = (
            await store.download_url(attachment.object_key) if attachment.object_key else attachment.url
        )
    return schemas.AttachmentOut(
        id=str(attachment.id),
        filename=attachment.filename,
        content_type=attachment.mime_type,
        size_bytes=attachment.size_bytes,
        status=attachment.status,
        created_at=as_utc(attachment.created_at),
        download_url=download_url,
    )


async def delete(
    session: AsyncSession, store: AttachmentStore, partner_id: uuid.UUID, attachment_id: str
) -> None:
    attachment = await _get(session, partner_id, attachment_id)
    if attachment.object_key is not None:
        await store.delete(attachment.object_key)
    await session.delete(attachment)


def require_ready(attachment: Attachment) -> None:
    """The send rule: only a complete attachment is sent (a pending one is 404 / 2007, as Linq's table)."""
    if attachment.status == PENDING:
        raise AttachmentNotReady(
            f"Attachment {attachment.id} has not been uploaded yet; PUT it to its upload_url."
        )
    if attachment.status == FAILED:
        raise InvalidBody(
            f"Attachment {attachment.id} failed: its upload was not of the declared size in time."
        )


# --- the local store's upload endpoint -------------------------------------------------------------


async def pending_by_key(session: AsyncSession, key: str, now: datetime) -> Attachment:
    query = select(Attachment).where(Attachment.object_key == key)
    attachment = await session.scalar(query)
    if attachment is None or attachment.status != PENDING:
        raise AttachmentNotFound("No attachment is waiting for an upload at this URL.")
    if attachment.upload_expires_at is not None and as_utc(attachment.upload_expires_at) < now:
        raise AttachmentNotFound("This upload URL has expired; create the attachment again.")
    return attachment


async def receive_upload(
    store: AttachmentStore, attachment: Attachment, declared_length: str | None, body: AsyncIterator[bytes]
) -> None:
    """Write the PUT body to the store; anything but exactly `size_bytes` is refused and not kept."""
    expected = attachment.size_bytes
    if declared_length is not None and declared_length.strip() != str(expected):
        raise InvalidBody(f"The upload must be exactly size_bytes = {expected} bytes, not {declared_length}.")
    key = attachment.object_key or ""

    async def capped() -> AsyncIterator[bytes]:
        received = 0
        async for chunk in body:
            received += len(chunk)
            if received > expected:
                raise InvalidBody(f"The upload is larger than size_bytes = {expected}.")
            yield chunk

    try:
        written = await store.put_stream(key, capped())
    except InvalidBody:
        await store.delete(key)
        raise
    if written != expected:
        await store.delete(key)
        raise InvalidBody(f"The upload must be exactly size_bytes = {expected} bytes, not {written}.")


async def mime_type_of(session: AsyncSession, key: str) -> str:
    found = await session.scalar(select(Attachment.mime_type).where(Attachment.object_key == key))
    return found or "application/octet-stream"
