"""Message content rules: which parts may go together, and what the first message of a chat may carry.

Pure checks on the request (plus attachment rows the service has already looked up); they run before
any guard, so bad content is a 400 whatever state the line is in.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from phoneline.attachments.models import Attachment
from phoneline.chats.schemas import AppPartIn, LinkPartIn, MediaPartIn, MessageIn, TextPartIn
from phoneline.errors import InvalidMessageContent, InvalidParameter
from phoneline.inputs import MAX_PARTS, MAX_TEXT_LENGTH

MAX_URL_MEDIA_PARTS = 40
_URL_IN_TEXT = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)


def check_parts(message: MessageIn) -> None:
    """Linq's part rules: 1..100 parts, a link alone, no two text parts in a row."""
    if message.experience is not None:
        raise InvalidMessageContent("Experiences are not supported by phoneline; send `parts`.")
    parts = message.parts or []
    if not parts:
        raise InvalidMessageContent("A message needs at least one part.")
    if len(parts) > MAX_PARTS:
        raise InvalidMessageContent(f"A message carries at most {MAX_PARTS} parts.")
    previous: str | None = None
    url_media = 0
    for index, part in enumerate(parts):
        if isinstance(part, AppPartIn):
            raise InvalidMessageContent(f"Part {index}: `{part.type}` parts are not supported by phoneline.")
        if isinstance(part, LinkPartIn):
            if len(parts) > 1:
                raise InvalidMessageContent("A `link` part must be the only part in the message.")
            _require_web_url(part.value, f"part {index}")
        if isinstance(part, TextPartIn):
            if not part.value.strip():
                raise InvalidMessageContent(f"Part {index}: a text part cannot be empty.")
            if len(part.value) > MAX_TEXT_LENGTH:
                raise InvalidMessageContent(
                    f"Part {index}: text is longer than {MAX_TEXT_LENGTH} characters."
                )
            if previous == "text":
                raise InvalidMessageContent(
                    "Two text parts in a row are not allowed; separate them with media."
                )
        if isinstance(part, MediaPartIn):
            if (part.url is None) == (part.attachment_id is None):
                raise InvalidMessageContent(f"Part {index}: give exactly one of `url` or `attachment_id`.")
            if part.url is not None:
                url_media += 1
                _require_web_url(part.url, f"part {index}")
        previous = part.type
    if url_media > MAX_URL_MEDIA_PARTS:
        raise InvalidMessageContent(
            f"At most {MAX_URL_MEDIA_PARTS} media parts may be given by URL; use attachment_id for more."
        )


def check_first_message(message: MessageIn) -> None:
    """Linq, POST /v3/chats: the first message of a new chat is not a link, a reply or an effect."""
    for part in message.parts or []:
        if isinstance(part, LinkPartIn) or (isinstance(part, TextPartIn) and _URL_IN_TEXT.search(part.value)):
            raise InvalidParameter(
                "The first message of a new chat cannot contain a link; send it once the chat exists."
            )
    if message.reply_to is not None:
        raise InvalidParameter("The first message of a new chat cannot be a reply.")
    if message.effect is not None:
        raise InvalidParameter("The first message of a new chat cannot carry an effect.")


def attachment_ids(message: MessageIn) -> list[uuid.UUID]:
    ids = []
    for part in message.parts or []:
        if isinstance(part, MediaPartIn) and part.attachment_id is not None:
            ids.append(parse_attachment_id(part.attachment_id))
    return ids


def parse_attachment_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidParameter(f"'{value}' is not an attachment id.") from None


def attachment_part(attachment: Attachment) -> dict[str, Any]:
    return {
        "type": "media",
        "id": str(attachment.id),
        "filename": attachment.filename,
        "mime_type": attachment.mime_type,
        "size_bytes": attachment.size_bytes,
        "url": attachment.url,
    }


def stored_parts(
    partner_id: uuid.UUID,
    message: MessageIn,
    attachments: dict[uuid.UUID, Attachment],
    fetched: Mapping[str, Attachment],
) -> tuple[list[dict[str, Any]], list[Attachment]]:
    """Parts as the wire shows them, and the new attachment rows for media given by URL (`fetched`,
    by URL, from media.fetch_url_media: one row per part, so each part has an id of its own)."""
    parts: list[dict[str, Any]] = []
    new: list[Attachment] = []
    for part in message.parts or []:
        if isinstance(part, TextPartIn):
            text: dict[str, Any] = {"type": "text", "value": part.value}
            if part.text_decorations:
                text["text_decorations"] = part.text_decorations
            parts.append(text)
        elif isinstance(part, LinkPartIn):
            parts.append({"type": "link", "value": part.value})
        elif isinstance(part, MediaPartIn):
            if part.url is not None:
                download = fetched[part.url]
                attachment = Attachment(
                    id=uuid.uuid4(), partner_id=partner_id, url=download.url, filename=download.filename,
                    mime_type=download.mime_type, size_bytes=download.size_bytes,
                    object_key=download.object_key, status="complete",
                )  # fmt: skip
                new.append(attachment)
            else:
                attachment = attachments[parse_attachment_id(part.attachment_id or "")]
            parts.append(attachment_part(attachment))
    return parts, new


def text_parts(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "value": text}]


def plain_text(parts: list[dict[str, Any]]) -> str | None:
    """The text of a text-only message (what the opt-out rule reads); None when it has media."""
    if not parts or any(part.get("type") != "text" for part in parts):
        return None
    return "\n".join(str(part.get("value", "")) for part in parts)


def _require_web_url(value: str, where: str) -> None:
    scheme = urlsplit(value.strip()).scheme.lower()
    if scheme not in ("https", "http"):
        raise InvalidMessageContent(f"{where}: '{value}' is not an http(s) URL.")
