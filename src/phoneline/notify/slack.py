"""Slack: one incoming-webhook message for a partner's changes of the last second, sent with slack_sdk.

Slack allows about one message per second per webhook, so changes that close together are combined
(notify/repository.py decides which). 429 (with Retry-After) and 5xx are retried by the alert sender.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock
from slack_sdk.webhook import WebhookClient

from phoneline.net.outbound import check_url, resolve_public

# Slack allows 50 blocks per message; what does not fit is summarised in one line.
MAX_CHANGES_PER_MESSAGE = 40
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


def _post(url: str, timeout_s: float, text: str, blocks: list[Any]) -> SlackReply:
    # Retries are ours (durable, in the alert queue), not slack_sdk's in-memory ones.
    client = WebhookClient(url, timeout=max(1, math.ceil(timeout_s)), retry_handlers=[])
    response = client.send(text=text, blocks=blocks)
    headers = {name.lower(): value for name, value in (response.headers or {}).items()}
    retry_after = headers.get("retry-after")
    return SlackReply(response.status_code, str(response.body or ""), retry_after)


async def send(
    url: str, payloads: list[dict[str, Any]], *, allow_private: bool, timeout_s: float
) -> SlackReply:
    """Post one message. Raises OutboundRefused (URL rule) or OSError/URLError (network)."""
    parsed = check_url(url, allow_private=allow_private, what="Slack webhook URL")
    if not allow_private:
        # slack_sdk connects by itself, so the address is checked just before (not pinned).
        await resolve_public(parsed.host, parsed.port or 443, what="Slack webhook URL")
    text, blocks = render(payloads)
    return await asyncio.to_thread(_post, url, timeout_s, text, blocks)


TEST_MESSAGE = (
    ":white_check_mark: phoneline test message: flagged-number notifications for your lines will arrive "
    "in this channel."
)


async def send_test(url: str, *, allow_private: bool, timeout_s: float) -> SlackReply:
    """Post a fixed test message under the same outbound-URL rules as real alerts."""
    parsed = check_url(url, allow_private=allow_private, what="Slack webhook URL")
    if not allow_private:
        await resolve_public(parsed.host, parsed.port or 443, what="Slack webhook URL")
    blocks = [SectionBlock(text=MarkdownTextObject(text=TEST_MESSAGE))]
    return await asyncio.to_thread(_post, url, timeout_s, TEST_MESSAGE, blocks)
