"""Signatures for the http_bridge, both directions: Standard Webhooks (`webhook-id`,
`webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`) keyed by PHONELINE_BRIDGE_SECRET.

A signature is accepted only within TOLERANCE either side of now (older or newer is refused as stale),
and bridge_routes.py remembers each accepted `webhook-id` for that long, so a request is applied once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from standardwebhooks import Webhook

# The Standard Webhooks library's own tolerance (it is not configurable there).
TOLERANCE = timedelta(minutes=5)


class BadSignature(Exception):
    pass


@dataclass(frozen=True)
class SignedRequest:
    """What a verified signature vouches for: the sender's request id and when it was signed."""

    id: str
    signed_at: datetime


def sign(
    secret: str, body: bytes, message_id: str | None = None, *, at: datetime | None = None
) -> dict[str, str]:
    msg_id = message_id or f"msg_{uuid.uuid4().hex}"
    now = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, now, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def verify(secret: str, body: bytes, headers: dict[str, str]) -> SignedRequest:
    """Raise BadSignature unless the body is signed with the secret within the tolerance."""
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except Exception as error:
        # The library raises its own error for a bad or stale signature, and ValueError, binascii or
        # UnicodeDecodeError for malformed headers or a body that is not UTF-8: all are "not signed".
        raise BadSignature(str(error) or type(error).__name__) from None
    lowered = {name.lower(): value for name, value in headers.items()}
    signed_at = datetime.fromtimestamp(float(lowered["webhook-timestamp"]), tz=UTC)
    return SignedRequest(id=lowered["webhook-id"], signed_at=signed_at)
