"""Files fetched by URL (voice memos, media parts): the outbound-URL rule, a bounded download, type checks.

The fetch goes through `net.outbound.open_stream`, the one rule every URL phoneline calls must pass
(https; a host that resolves only to public addresses; the connection goes to the address checked),
lifted by PHONELINE_ALLOW_PRIVATE_WEBHOOK_TARGETS=true for development and tests.
"""

from __future__ import annotations

import asyncio
import mimetypes
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httpx

from phoneline.attachments.media_types import refused_media
from phoneline.attachments.models import Attachment
from phoneline.attachments.store import AttachmentStore
from phoneline.chats.content import check_parts
from phoneline.chats.schemas import MediaPartIn, MessageIn
from phoneline.errors import InvalidParameter
from phoneline.net.outbound import check_url, open_stream, validate_url
from phoneline.settings import Settings

# Linq's voice memo formats, by what the file's first bytes say (the server checks content, not names).
AUDIO_TYPES = {
    "audio/mpeg": ".mp3",
    "audio/x-m4a": ".m4a",
    "audio/aac": ".aac",
    "audio/x-caf": ".caf",
    "audio/wav": ".wav",
    "audio/aiff": ".aiff",
    "audio/amr": ".amr",
}
ACCEPTED_MIME_TYPES = {*AUDIO_TYPES, "audio/mp4", "audio/x-aiff", "audio/x-wav", "audio/mp3"}
SNIFF_BYTES = 64


def sniff_audio(head: bytes) -> str | None:
    """The MIME type of an audio file from its first bytes, or None if it is not one we send."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head[:4] == b"caff":
        return "audio/x-caf"
    if head[:5] == b"#!AMR":
        return "audio/amr"
    if head[4:8] == b"ftyp":
        return "audio/x-m4a"
    if head[:3] == b"ID3":
        return "audio/mpeg"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:  # ADTS sync word, layer 00
            return "audio/aac"
        if head[1] & 0xE0 == 0xE0 and head[1] & 0x06:  # MPEG audio frame sync, layer I-III
            return "audio/mpeg"
    return None


async def check_media_urls(message: MessageIn, settings: Settings) -> None:
    """Media parts given by URL go to the carrier as they are: each must pass the outbound rule
    (OutboundRefused, a 400) before anything is stored, as if phoneline fetched it itself."""
    for index, part in enumerate(message.parts or []):
        if isinstance(part, MediaPartIn) and part.url is not None:
            await validate_url(
                part.url,
                allow_private=settings.allow_private_webhook_targets,
                what=f"media URL of part {index}",
            )


def require_audio_type(mime_type: str) -> None:
    if mime_type not in ACCEPTED_MIME_TYPES:
        raise InvalidParameter(
            f"A voice memo must be MP3, M4A, AAC, CAF, WAV, AIFF or AMR audio, not {mime_type}."
        )


# Linq refuses these for attachments and media parts alike (its supported-types list leaves them out).
def _filename(url: httpx.URL, fallback: str) -> str:
    name = unquote(urlsplit(str(url)).path).rsplit("/", 1)[-1]
    return (name or fallback)[:255]


@dataclass(frozen=True)
class Download:
    url: httpx.URL
    size: int
    head: bytes
    content_type: str | None


async def _download(
    url: str,
    settings: Settings,
    transport: httpx.AsyncBaseTransport,
    *,
    what: str,
    limit: int,
    keep: Callable[[bytes], Awaitable[None]] | None = None,
    larger: str = "",
) -> Download:
    """Fetch `url` once under the outbound rule (at most `limit` bytes, no redirects), counting bytes;
    `keep` receives every chunk (to write it to the attachment store); `larger` ends the too-large
    sentence with what to do instead.

    A URL the outbound rule refuses is a 400 (OutboundRefused is an InvalidParameter).
    """
    allow_private = settings.allow_private_webhook_targets
    target = check_url(url, allow_private=allow_private, what=what)
    too_large = f"The {what.removesuffix(' URL')} is larger than {limit // (1024 * 1024)} MB{larger}."
    size, head = 0, b""
    try:
        async with asyncio.timeout(settings.media_fetch_timeout_s):
            async with open_stream(
                transport, "GET", str(target), allow_private=allow_private,
                headers={"Accept-Encoding": "identity"}, what=what,
            ) as response:  # fmt: skip
                if response.status_code != 200:
                    raise InvalidParameter(f"Fetching the {what} returned HTTP {response.status_code}.")
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > limit:
                    raise InvalidParameter(too_large)
                async for chunk in response.aiter_raw():  # raw: we asked for no content coding
                    if len(head) < SNIFF_BYTES:
                        head += chunk[: SNIFF_BYTES - len(head)]
                    size += len(chunk)
                    if size > limit:
                        raise InvalidParameter(too_large)
                    if keep is not None and chunk:
                        await keep(chunk)
                content_type = response.headers.get("content-type")
    except TimeoutError:
        raise InvalidParameter(f"The {what} could not be fetched: it took too long.") from None
    except httpx.HTTPError as error:
        raise InvalidParameter(f"The {what} could not be fetched: {error.__class__.__name__}.") from None
    return Download(target, size, head, content_type)


async def fetch_voice_memo(url: str, settings: Settings, transport: httpx.AsyncBaseTransport) -> Attachment:
    """Download the file once (at most `voice_memo_max_bytes`) and describe it by its content.

    `transport` comes from `net.outbound.transport()`.
    """
    download = await _download(
        url, settings, transport, what="voice memo URL", limit=settings.voice_memo_max_bytes
    )
    mime_type = sniff_audio(download.head)
    if mime_type is None:
        raise InvalidParameter("A voice memo must be MP3, M4A, AAC, CAF, WAV, AIFF or AMR audio.")
    return Attachment(
        id=uuid.uuid4(),
        partner_id=uuid.UUID(int=0),  # set by the caller, who knows the partner
        url=str(download.url),
        filename=_filename(download.url, f"voice-memo{AUDIO_TYPES.get(mime_type, '')}"),
        mime_type=mime_type,
        size_bytes=download.size,
    )


async def fetch_media(
    url: str, settings: Settings, transport: httpx.AsyncBaseTransport, store: AttachmentStore
) -> Attachment:
    """A media part given by URL, fetched once (Linq: at most 10 MB; larger files are uploaded with
    POST /v3/attachments) into the attachment store, so its size, type and name are known and the
    carrier is handed our copy."""
    attachment_id = uuid.uuid4()
    key = f"fetched/{attachment_id}"
    async with store.writer(key) as write:
        download = await _download(
            url, settings, transport, what="media URL", limit=settings.media_url_max_bytes, keep=write,
            larger="; upload larger files with POST /v3/attachments (up to 100 MB) and send their `attachment_id`",
        )  # fmt: skip
    filename = _filename(download.url, "attachment")
    declared = (download.content_type or "").split(";", 1)[0].strip().lower()
    if not declared or declared == "application/octet-stream":
        declared = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    refusal = refused_media(declared, filename, download.head)
    if refusal is not None:
        await store.delete(key)
        raise InvalidParameter(refusal)
    return Attachment(
        id=attachment_id,
        partner_id=uuid.UUID(int=0),
        url=await store.download_url(key),
        filename=filename,
        mime_type=declared[:127],
        size_bytes=download.size,
        object_key=key,
    )


async def fetch_url_media(
    message: MessageIn, settings: Settings, transport: httpx.AsyncBaseTransport, store: AttachmentStore
) -> dict[str, Attachment]:
    """Every distinct media URL of a message, fetched once each (after the pure content checks)."""
    check_parts(message)
    urls = list(
        dict.fromkeys(part.url for part in message.parts or [] if isinstance(part, MediaPartIn) and part.url)
    )
    return {url: await fetch_media(url, settings, transport, store) for url in urls}
