"""Slack: one incoming-webhook message for a partner's changes of the last second.

slack_sdk builds the blocks; the POST goes through `net.outbound.open_stream` like every other outbound
call (slack_sdk's own client would resolve the host by itself, after our check).

Slack allows about one message per second per webhook, so changes that close together are combined
(notify/repository.py decides which). 429 (with Retry-After) and 5xx are retried by the alert sender.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from phoneline.net.outbound import open_stream, read_limited

# Slack allows 50 blocks per message; what does not fit is summarised in one line.
MAX_CHANGES_PER_MESSAGE = 40
# Slack answers "ok" or a short error name; more than this is not kept.
MAX_RESPONSE_BYTES = 4096
_ICON = {"FLAGGED": ":red_circle:", "ACTIVE": ":large_green_circle:", "CRITICAL": ":red_circle:"}


@dataclass(frozen=True)
class SlackReply:
    status_code: int
    body: str
    retry_after: str | None


def _line_change(payload: dict[str, Any]) -> str:
    what = "status" if payload["field"] == "status" else "health"
    icon = _ICON.get(payload["new"], ":large_yellow_circle:")
    return (
        f"{icon} *{payload['number']}* {what} {payload['old']} → *{payload['new']}* "
        f"at {payload['changed_at']} · <{payload['link']}|View line>"
    )


def _subscription_failing(payload: dict[str, Any]) -> str:
    target = payload["target_url"]
    if payload["level"] >= 100:
        return (
            f":no_entry: Webhook subscription to {target} was *deactivated*: every delivery failed for "
            f"{payload['window_hours']:g} hours. Fix the endpoint, reactivate it, then replay missed events."
        )
    return (
        f":warning: Webhook deliveries to {target} have failed since {payload['failing_since']} "
        f"({payload['level']}% of the {payload['window_hours']:g}-hour limit). The subscription is "
        f"deactivated at {payload['deactivates_at']} unless a delivery succeeds."
    )


def render(payloads: list[dict[str, Any]]) -> tuple[str, list[SectionBlock | ContextBlock]]:
    """The fallback text and the blocks for one message about these alerts, oldest first."""
    lines = [
        _subscription_failing(p) if p["kind"] == "subscription_failing" else _line_change(p) for p in payloads
    ]
    shown = lines[:MAX_CHANGES_PER_MESSAGE]
    blocks: list[SectionBlock | ContextBlock] = [
        SectionBlock(text=MarkdownTextObject(text=line)) for line in shown
    ]
    if len(lines) > len(shown):
        more = len(lines) - len(shown)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"…and {more} more changes.")]))
    text = lines[0] if len(lines) == 1 else f"{len(lines)} changes on your lines"
    return text, blocks


async def _post(
    transport: httpx.AsyncBaseTransport,
    url: str,
    text: str,
    blocks: list[Any],
    *,
    allow_private: bool,
    timeout_s: float,
) -> SlackReply:
    """One POST, no retries: retries are ours (durable, in the alert queue)."""
    body = json.dumps({"text": text, "blocks": [block.to_dict() for block in blocks]}).encode()
    headers = {"Content-Type": "application/json;charset=utf-8", "Accept-Encoding": "identity"}
    async with asyncio.timeout(timeout_s):
        async with open_stream(
            transport, "POST", url, allow_private=allow_private, headers=headers, content=body,
            what="Slack webhook URL",
        ) as response:  # fmt: skip
            excerpt = await read_limited(response, MAX_RESPONSE_BYTES)
    return SlackReply(
        response.status_code, excerpt.decode("utf-8", "replace"), response.headers.get("retry-after")
    )


async def send(
    transport: httpx.AsyncBaseTransport,
    url: str,
    payloads: list[dict[str, Any]],
    *,
    allow_private: bool,
    timeout_s: float,
) -> SlackReply:
    """Post one message. Raises OutboundRefused (URL rule), TimeoutError or httpx.HTTPError (network)."""
    text, blocks = render(payloads)
    return await _post(transport, url, text, blocks, allow_private=allow_private, timeout_s=timeout_s)


TEST_MESSAGE = (
    ":white_check_mark: phoneline test message: flagged-number notifications for your lines will arrive "
    "in this channel."
)


async def send_test(
    transport: httpx.AsyncBaseTransport, url: str, *, allow_private: bool, timeout_s: float
) -> SlackReply:
    """Post a fixed test message under the same outbound-URL rules as real alerts."""
    blocks = [SectionBlock(text=MarkdownTextObject(text=TEST_MESSAGE))]
    return await _post(transport, url, TEST_MESSAGE, blocks, allow_private=allow_private, timeout_s=timeout_s)
