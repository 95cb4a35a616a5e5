"""PagerDuty Events API v2: trigger when a production line is flagged, resolve when it is active again.

The dedup key is per line, so a flag that is cleared and raised again re-opens the same incident.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from phoneline.net.outbound import open_stream, read_limited

MAX_RESPONSE_BYTES = 4096


def dedup_key(number: str) -> str:
    return f"phoneline/line/{number}"


def event(routing_key: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(payload["number"]),
    }
    if action == "trigger":
        body["payload"] = {
            "summary": f"Line {payload['number']} is FLAGGED: it cannot send until the flag is cleared",
            "source": "phoneline",
            "severity": "critical",
            "timestamp": payload["changed_at"],
            "component": payload["number"],
            "class": "line_status",
            "custom_details": {"previous_status": payload["old"], "new_status": payload["new"]},
        }
        body["links"] = [{"href": payload["link"], "text": "The line in phoneline"}]
    return body


async def send(
    transport: httpx.AsyncBaseTransport, url: str, body: dict[str, Any], *, allow_private: bool
) -> tuple[int, str, str | None]:
    """POST one event; (status, response excerpt, Retry-After)."""
    async with open_stream(
        transport,
        "POST",
        url,
        allow_private=allow_private,
        headers={"Content-Type": "application/json", "Accept-Encoding": "identity"},
        content=json.dumps(body).encode(),
        what="PagerDuty events URL",
    ) as response:
        excerpt = await read_limited(response, MAX_RESPONSE_BYTES)
        return response.status_code, excerpt.decode("utf-8", "replace"), response.headers.get("retry-after")
