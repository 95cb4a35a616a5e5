"""Phone number parsing: anything `phonenumbers` reads (default region US) becomes E.164."""

from __future__ import annotations

import phonenumbers

from phoneline.errors import InvalidPhoneNumber

DEFAULT_REGION = "US"


def to_e164(raw: str, *, what: str = "phone number") -> str:
    text = (raw or "").strip()
    try:
        parsed = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(f"'{raw}' is not a valid {what}; use E.164, e.g. +12025551234.") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(f"'{raw}' is not a valid {what}; use E.164, e.g. +12025551234.")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
