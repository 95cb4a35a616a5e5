"""Recipient handles: E.164 phone numbers or email addresses, and the key that names a recipient set."""

from __future__ import annotations

import re
from collections.abc import Iterable

from phoneline.errors import InvalidParameter
from phoneline.lines.numbers import require_e164, to_e164

# Deliberately loose: the carrier, not us, decides whether an address exists.
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


def normalize_handle(raw: str, *, lenient: bool = False) -> str:
    """An email (lowercased) or an E.164 number. The partner API is strict; `lenient` (the carrier's
    reports and the operator CLI) also reads numbers written loosely."""
    text = (raw or "").strip()
    if "@" in text:
        if not _EMAIL.match(text):
            raise InvalidParameter(f"'{raw}' is not a valid email handle.")
        return text.lower()
    parse = to_e164 if lenient else require_e164
    return parse(text, what="recipient phone number")


def normalize_recipients(raw: Iterable[str], *, own_number: str | None = None) -> list[str]:
    """Sorted, de-duplicated handles; `to` is a set, so order never matters."""
    handles = sorted({normalize_handle(handle) for handle in raw})
    if not handles:
        raise InvalidParameter("`to` needs at least one recipient handle.")
    if own_number is not None and own_number in handles:
        raise InvalidParameter("`to` cannot contain the sending line itself.")
    return handles


def recipient_key(handles: list[str]) -> str:
    return ",".join(handles)
