"""The envelope and both header sets every delivery carries (Linq v3 contract, "Webhooks").

- Standard Webhooks: `webhook-id` (= event_id, the same on every attempt and subscription),
  `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed
  by the base64-decoded secret after `whsec_` (computed by the `standardwebhooks` library).
- Legacy: `X-Webhook-Event`, `X-Webhook-Subscription-ID`, `X-Webhook-Timestamp`, `X-Webhook-Signature`
  (hex HMAC-SHA256 of "{timestamp}.{body}" keyed by the whole secret string as UTF-8).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from standardwebhooks import Webhook

from phoneline import __version__
from phoneline.db.base import as_utc
from phoneline.webhooks.events import API_VERSION

USER_AGENT = f"phoneline-webhooks/{__version__}"


def iso(moment: datetime) -> str:
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def envelope_body(
    *,
    event_id: uuid.UUID,
    event_type: str,
    created_at: datetime,
    trace_id: str,
    partner_id: uuid.UUID,
    data: dict[str, Any],
    webhook_version: str,
) -> bytes:
    envelope = {
        "api_version": API_VERSION,
        "webhook_version": webhook_version,
        "event_type": event_type,
        "event_id": str(event_id),
        "created_at": iso(created_at),
        "trace_id": trace_id,
        "partner_id": str(partner_id),
        "data": data,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


@lru_cache(maxsize=4096)
def _standard(secret: str) -> Webhook:
    return Webhook(secret)


def signed_headers(
    *,
    secret: str,
    event_id: uuid.UUID,
    event_type: str,
    subscription_id: uuid.UUID,
    body: bytes,
    sent_at: datetime,
    sequence: int | None = None,
) -> dict[str, str]:
    timestamp = str(int(as_utc(sent_at).timestamp()))
    standard = _standard(secret).sign(
        msg_id=str(event_id), timestamp=datetime.fromtimestamp(int(timestamp), UTC), data=body.decode()
    )
    legacy = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        # Only the first bytes of a response are kept; compressed bodies would defeat the limit.
        "Accept-Encoding": "identity",
        "webhook-id": str(event_id),
        "webhook-timestamp": timestamp,
        "webhook-signature": standard,
        "X-Webhook-Event": event_type,
        "X-Webhook-Subscription-ID": str(subscription_id),
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": legacy,
    } | ({} if sequence is None else {"X-Webhook-Sequence": str(sequence)})
