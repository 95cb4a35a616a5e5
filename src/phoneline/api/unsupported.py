"""Linq operations phoneline does not serve, so that their 404 says why instead of "no such endpoint".

Out of scope (docs/api.md): polls, location, background, experiences and payments. Not carried by the
transports: app card updates and sticker placement. Paths are matched under the partner API's `/v3/`.
"""

from __future__ import annotations

import re

_SEGMENT = r"[^/]+"
OUT_OF_SCOPE = "is out of scope for phoneline (docs/api.md lists what it serves)"
NOT_CARRIED = "is not carried by phoneline's transports (docs/api.md)"

# (method or None for any, path pattern after /api/partner, what it is, why)
_UNSUPPORTED: tuple[tuple[str | None, re.Pattern[str], str, str], ...] = (
    (None, re.compile(rf"/v3/chats/{_SEGMENT}/polls"), "Polls", OUT_OF_SCOPE),
    (None, re.compile(rf"/v3/messages/{_SEGMENT}/poll(/options|/votes)?"), "Polls", OUT_OF_SCOPE),
    (None, re.compile(rf"/v3/chats/{_SEGMENT}/location(/request)?"), "Location sharing", OUT_OF_SCOPE),
    (None, re.compile(rf"/v3/chats/{_SEGMENT}/background"), "Chat backgrounds", OUT_OF_SCOPE),
    (None, re.compile(rf"/v3/experiences(/{_SEGMENT})?"), "Experiences", OUT_OF_SCOPE),
    (None, re.compile(r"/v3/payment_requests(/.*)?"), "Payments", OUT_OF_SCOPE),
    (None, re.compile(r"/v3/payments(/.*)?"), "Payments", OUT_OF_SCOPE),
    ("POST", re.compile(rf"/v3/messages/{_SEGMENT}/update"), "Updating an app card", NOT_CARRIED),
    ("PATCH", re.compile(rf"/v3/messages/{_SEGMENT}/reactions/{_SEGMENT}"), "Sticker placement", NOT_CARRIED),
)
PARTNER_PREFIX = "/api/partner"


def unsupported_reason(method: str, path: str) -> str | None:
    """The sentence a 404 gives for a Linq operation phoneline does not serve; None for any other path."""
    if not path.startswith(PARTNER_PREFIX + "/v3/"):
        return None
    rest = path[len(PARTNER_PREFIX) :].rstrip("/")
    for only, pattern, what, why in _UNSUPPORTED:
        if (only is None or only == method) and pattern.fullmatch(rest):
            return f"{what} ({method} {rest}) {why}."
    return None
