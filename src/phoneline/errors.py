"""The Linq error envelope: one exception family, rendered by one function.

Every error body is `{"success": false, "error": {status, code, message, doc_url}, "trace_id"}`;
429s add `error.retry_after` and a `Retry-After` header.
"""

from __future__ import annotations

import json
import math
from typing import Any

from phoneline.tracing import current_trace_id

ERRORS_DOC_PATH = "/guides/errors"


class ApiError(Exception):
    status: int = 400
    code: int = 1003
    message: str = "Bad request."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.retry_after = retry_after
        self.headers = headers or {}
        super().__init__(self.message)


class MissingField(ApiError):
    status, code, message = 400, 1001, "A required field is missing."


class InvalidPhoneNumber(ApiError):
    status, code, message = 400, 1002, "The phone number is not valid."


class InvalidBody(ApiError):
    status, code, message = 400, 1003, "The request body is not valid."


class InvalidMessageContent(ApiError):
    status, code, message = 400, 1004, "The message content is not valid."


class InvalidParameter(ApiError):
    status, code, message = 400, 1005, "A parameter is not valid."


class Unauthorized(ApiError):
    status, code, message = 401, 2004, "Missing or invalid API key."


class AccessDenied(ApiError):
    status, code, message = 403, 2005, "Access denied."


class NotYourLine(ApiError):
    status, code, message = 403, 2006, "The phone number in `from` is not assigned to your account."


class RecipientOptedOut(ApiError):
    status, code, message = 403, 2024, "The recipient has opted out of messages."


class LineNotEligible(ApiError):
    status, code, message = 403, 2027, "The line is not eligible to send."


class NotFound(ApiError):
    # Linq's table has no generic not-found code (2001-2003 name chats, messages and attachments): a path
    # or id that names nothing the key can see is 404 with 1005, the parameter that is not valid.
    # Documented on /guides/errors.
    status, code, message = (
        404,
        1005,
        "Not found: the path names nothing this API key can see (Linq has no generic not-found code).",
    )


class ChatNotFound(NotFound):
    code, message = 2001, "Chat not found."


class MessageNotFound(NotFound):
    code, message = 2002, "Message not found."


class AttachmentNotFound(NotFound):
    code, message = 2003, "Attachment not found."


class AttachmentNotReady(ApiError):
    # Linq's table: 2007 attachment_not_ready, HTTP 404.
    status, code, message = 404, 2007, "The attachment has not been uploaded yet."


class InvalidFileType(ApiError):
    status, code, message = 400, 5004, "This file type is not supported."


class FileTooLarge(ApiError):
    status, code, message = 400, 5005, "The file exceeds the maximum size."


class RecipientBlocked(ApiError):
    status, code, message = 403, 2026, "The recipient is on your blocklist."


class ContactCardExists(ApiError):
    # Linq (linq-python's contact_card.create): an active card is never overwritten by a POST.
    status, code, message = 409, 2014, "This line already has an active contact card; PATCH it instead."


class MethodNotAllowed(ApiError):
    # Linq's table has no code for 405; 1005 as for a path that names nothing (/guides/errors).
    status, code, message = 405, 1005, "Method not allowed on this path; `Allow` lists the methods."


class Conflict(ApiError):
    status, code, message = 409, 1005, "The request conflicts with the current state."


class PayloadTooLarge(ApiError):
    # Linq publishes no code for it; 1003 is "bad body".
    status, code, message = 413, 1003, "The request body is too large."


class HeadersTooLarge(ApiError):
    status, code, message = 431, 1003, "The request headers are too large."


class RateLimited(ApiError):
    status, code, message = 429, 1007, "Rate limit exceeded."


class InternalError(ApiError):
    status, code, message = 500, 3006, "Internal error."


class ServiceUnavailable(ApiError):
    status, code, message = 503, 4004, "Service unavailable."


def error_catalog() -> list[tuple[int, int, str]]:
    """Every (code, HTTP status, meaning) the server answers with: the classes above and every domain's
    subclass of them. /guides/errors is rendered from this list, so the guide cannot disagree."""
    classes: list[type[ApiError]] = [ApiError, *_subclasses(ApiError)]
    # Every phoneline module's error classes (a domain may name a code of its own, e.g. 1006 in chats),
    # not a test's.
    found = {
        (cls.code, cls.status, cls.message) for cls in classes if cls.__module__.startswith("phoneline.")
    }
    return sorted(found)


def _subclasses(cls: type[ApiError]) -> list[type[ApiError]]:
    direct = cls.__subclasses__()
    return [*direct, *(grand for child in direct for grand in _subclasses(child))]


def error_body(error: ApiError, *, doc_base: str = "") -> dict[str, Any]:
    detail: dict[str, Any] = {
        "status": error.status,
        "code": error.code,
        "message": error.message,
        "doc_url": f"{doc_base}{ERRORS_DOC_PATH}#{error.code}",
    }
    if error.retry_after is not None:
        detail["retry_after"] = max(1, math.ceil(error.retry_after))
    return {"success": False, "error": detail, "trace_id": current_trace_id()}


def error_response_parts(error: ApiError, *, doc_base: str = "") -> tuple[bytes, dict[str, str]]:
    """Body bytes and headers; shared by the FastAPI handlers and the raw ASGI fallback."""
    body = error_body(error, doc_base=doc_base)
    headers = dict(error.headers)
    if error.retry_after is not None:
        headers["Retry-After"] = str(body["error"]["retry_after"])
    return json.dumps(body, separators=(",", ":")).encode(), headers
