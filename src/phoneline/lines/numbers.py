"""Phone number parsing.

The partner API takes E.164 only (`require_e164`): Linq answers 400 / 1002 for `4155551234` rather than
guessing a country. Operators at the CLI may type numbers loosely (`to_e164`, default region US).
"""

from __future__ import annotations

import phonenumbers

from phoneline.errors import InvalidPhoneNumber

DEFAULT_REGION = "US"


def _refused(raw: str, what: str) -> InvalidPhoneNumber:
    return InvalidPhoneNumber(f"'{raw}' is not a valid {what}; use E.164, e.g. +12025551234.")


def to_e164(raw: str, *, what: str = "phone number") -> str:
    """Anything `phonenumbers` reads (default region US) as E.164: for operators, never the partner API."""
    text = (raw or "").strip()
    try:
        parsed = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise _refused(raw, what) from None
    if not phonenumbers.is_valid_number(parsed):
        raise _refused(raw, what)
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def require_e164(raw: str, *, what: str = "phone number") -> str:
    """A valid number written exactly in E.164 (`+` and digits, surrounding spaces ignored).

    Linq: anything else is 400 / 1002 naming the value, so `4155558804` is never read as a US number.
    """
    text = (raw or "").strip()
    if not text.startswith("+") or not text[1:].isdigit():
        raise _refused(raw, what)
    number = to_e164(text, what=what)
    if number != text:
        raise _refused(raw, what)
    return number
