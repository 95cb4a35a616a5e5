"""What a request may carry: text both databases can store, and one documented maximum per field.

Request models derive from `RequestModel`: before any field is validated, every string anywhere in the
input (keys and values of free-form objects included) must be storable: no NUL (PostgreSQL refuses it
in text) and no lone surrogate (not UTF-8, so neither SQLite nor PostgreSQL can store it, nor can a
response or a webhook body carry it). The sized string and list types below put their maximum into
the OpenAPI document; docs/api.md lists them. A violation is a 400 with a 1xxx code, decided before
anything is looked up or stored: `translate_validation_error` below says which, and api/handlers.py
applies it to every request.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from phoneline.errors import (
    ApiError,
    InvalidBody,
    InvalidMessageContent,
    InvalidParameter,
    MissingField,
)

# NUL, and UTF-16 surrogates (which only occur in a Python str when they are unpaired).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# --- the documented maxima (docs/api.md, "Limits") --------------------------------------------------
MAX_RECIPIENTS = 32  # `to`, a chat's handles
MAX_LINE_LIST = 1000  # `exclude_from`, a subscription's `phone_numbers`
MAX_EVENT_TYPES = 100  # `subscribed_events`
MAX_PARTS = 100  # `message.parts`
MAX_TEXT_DECORATIONS = 100  # per text part
MAX_TEXT_LENGTH = 20_000  # a text part's `value`, a continuation message
MAX_URL_LENGTH = 2048
MAX_HANDLE_LENGTH = 256  # a phone number or email address
MAX_ID_LENGTH = 64  # ids and attachment ids (uuids are 36)
MAX_NAME_LENGTH = 200  # partner names, effect names, header names
MAX_REASON_LENGTH = 1000  # operator reasons, carrier reasons
MAX_CURSOR_LENGTH = 256
MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_CUSTOM_EMOJI_LENGTH = 64  # a reaction's `custom_emoji` (reactions.custom_emoji)


def unstorable_at(value: str) -> int | None:
    """Index of the first character no database here can store, or None."""
    found = _UNSTORABLE.search(value)
    return found.start() if found is not None else None


def require_storable(value: str, what: str) -> str:
    """The same rule for a single value outside a request model (query parameters, form fields)."""
    index = unstorable_at(value)
    if index is not None:
        raise PydanticCustomError(
            "unstorable_text",
            "{what} contains a character that cannot be stored (U+{code:04X} at position {index})",
            {"what": what, "code": ord(value[index]), "index": index},
        )
    return value


def _check_tree(value: Any, path: str) -> None:
    if isinstance(value, str):
        require_storable(value, path or "a value")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                require_storable(key, f"a key in {path or 'the body'}")
            _check_tree(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_tree(item, f"{path}[{index}]")


class RequestModel(BaseModel):
    """Base of every request body: refuses text that cannot be stored, wherever it sits."""

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        _check_tree(data, "")
        return data


Handle = Annotated[str, StringConstraints(max_length=MAX_HANDLE_LENGTH)]
Url = Annotated[str, StringConstraints(max_length=MAX_URL_LENGTH)]
Identifier = Annotated[str, StringConstraints(max_length=MAX_ID_LENGTH)]
Name = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH)]
Reason = Annotated[str, StringConstraints(max_length=MAX_REASON_LENGTH)]
EventType = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH)]
MessageText = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]


# Linq: what is wrong inside a message is 1004 (bad message content), elsewhere in a body 1003.
MESSAGE_FIELDS = ("message", "continuation_message")


def translate_validation_error(errors: list[Any]) -> ApiError:
    """FastAPI's 422 becomes a 400 with a 1xxx code and one sentence naming the field."""
    first: dict[str, Any] = (
        errors[0] if errors else {"type": "value_error", "loc": ("body",), "msg": "invalid"}
    )
    location = [str(part) for part in first.get("loc", ())]
    source = location[0] if location else "body"
    field = ".".join(location[1:])
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    kind = first.get("type")
    if kind == "json_invalid":
        return InvalidBody("The request body is not valid JSON.")
    if kind == "missing":
        if not field:
            return MissingField("The request body is missing.")
        return MissingField(f"Missing required field '{field}'.")
    if source in ("query", "path", "header", "cookie"):
        return InvalidParameter(f"Invalid {source} parameter '{field}': {message}.")
    # Text found anywhere in the body is reported with its own path (RequestModel above).
    context = first.get("ctx") or {}
    where = str(context.get("what", "")) if kind == "unstorable_text" else field
    if where.startswith(MESSAGE_FIELDS):
        return InvalidMessageContent(f"Invalid field '{where}': {message}.")
    if not field:
        return InvalidBody(f"The request body is not valid: {message}.")
    return InvalidBody(f"Invalid field '{field}': {message}.")
