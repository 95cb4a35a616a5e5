"""Signatures for the http_bridge, both directions: Standard Webhooks (`webhook-id`,
`webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`) keyed by PHONELINE_BRIDGE_SECRET."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


class BadSignature(Exception):
    pass


def sign(secret: str, body: bytes, message_id: str | None = None) -> dict[str, str]:
    msg_id = message_id or f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, now, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def verify(secret: str, body: bytes, headers: dict[str, str]) -> None:
    """Raise BadSignature unless the body is signed with the secret within the replay tolerance."""
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError as error:
        raise BadSignature(str(error)) from None
