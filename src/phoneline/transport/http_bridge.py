"""`http_bridge`: a real carrier gateway plugs in over signed JSON HTTP (wire format: docs/transport.md).

Outbound: each message is POSTed to PHONELINE_BRIDGE_URL as `{"type": "message.outbound", "data": {...}}`,
signed with PHONELINE_BRIDGE_SECRET. A 2xx means the gateway took it; network errors, 429 and 5xx are
retried a few times, then (like any other answer) the message is reported failed with code 3007.
Capability checks: `{"type": "capability.check", "data": {address, service, from}}` to the same URL;
the gateway answers 200 `{"available": bool, "selected_service": str | null}`, anything else (or no
answer within the timeout) means it could not say, and the partner gets 503.
Chat actions (typing, read, edits, reactions, ...): `{"type": "chat.action", "data": {...}}`, once, a 2xx
meaning done. Inbound: the gateway calls `/bridge/v1/...` (bridge_routes.py) with the same signature.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx

from phoneline.transport import signing
from phoneline.transport.base import CapabilityAnswer, ChatAction, OutboundMessage, Transport, TransportError

RETRY_DELAYS_S = (0.5, 2.0, 5.0)


class HttpBridgeTransport(Transport):
    name = "http_bridge"

    def __init__(self, url: str, secret: str, client: httpx.AsyncClient, *, timeout_s: float) -> None:
        super().__init__()
        self.url = url
        self.secret = secret
        self.client = client
        self.timeout_s = timeout_s
        self.retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S

    async def send(self, message: OutboundMessage) -> None:
        body = json.dumps(
            {"type": "message.outbound", "data": message.wire()}, separators=(",", ":")
        ).encode()
        last_error = ""
        for delay in (*self.retry_delays_s, None):
            # Re-signed per attempt (fresh timestamp); the webhook-id stays the message id for dedup.
            headers = signing.sign(self.secret, body, message.message_id)
            try:
                response = await self.client.post(
                    self.url, content=body, headers=headers, timeout=self.timeout_s
                )
            except httpx.HTTPError as error:
                last_error = f"{error.__class__.__name__}"
            else:
                if response.is_success:
                    return
                last_error = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    break  # the gateway refused this message; retrying will not change its mind
            if delay is None:
                break
            await asyncio.sleep(delay)
        raise TransportError(f"the carrier gateway did not take the message ({last_error})")

    async def check_capability(self, address: str, service: str, line_number: str) -> CapabilityAnswer:
        body = json.dumps(
            {
                "type": "capability.check",
                "data": {"address": address, "service": service, "from": line_number},
            },
            separators=(",", ":"),
        ).encode()
        headers = signing.sign(self.secret, body, f"cap_{uuid.uuid4().hex}")
        try:
            response = await self.client.post(self.url, content=body, headers=headers, timeout=self.timeout_s)
        except httpx.HTTPError as error:
            raise TransportError(f"the carrier gateway did not answer ({error.__class__.__name__})") from None
        if response.status_code != 200:
            raise TransportError(f"the carrier gateway could not check ({response.status_code})")
        try:
            answer = response.json()
            available = answer["available"]
            selected = answer.get("selected_service")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise TransportError("the carrier gateway answered a capability check with no verdict") from None
        if not isinstance(available, bool) or not (selected is None or isinstance(selected, str)):
            raise TransportError("the carrier gateway answered a capability check with no verdict")
        return CapabilityAnswer(available, selected)

    async def act(self, action: ChatAction) -> None:
        """`{"type": "chat.action", "data": {kind, chat_id, from, to, ...}}`; a 2xx means it was done."""
        body = json.dumps({"type": "chat.action", "data": action.wire()}, separators=(",", ":")).encode()
        headers = signing.sign(self.secret, body, f"act_{uuid.uuid4().hex}")
        try:
            response = await self.client.post(self.url, content=body, headers=headers, timeout=self.timeout_s)
        except httpx.HTTPError as error:
            raise TransportError(f"the carrier gateway did not answer ({error.__class__.__name__})") from None
        if not response.is_success:
            raise TransportError(f"the carrier gateway refused the {action.kind} ({response.status_code})")
