"""Operator-facing shapes for a partner's alert settings. Credentials are only ever shown redacted."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from phoneline.inputs import MAX_LINE_LIST, Handle, Name, RequestModel, Url


class AlertSettingsUpdate(RequestModel):
    """Every field optional; `""` or null clears the Slack URL or the routing key."""

    slack_webhook_url: Url | None = None
    slack_on: Name | None = None
    pagerduty_routing_key: Name | None = None
    production_lines: list[Handle] | None = Field(None, max_length=MAX_LINE_LIST)
    # Not an alert, but the same "API Tooling" settings page: advise or enforce (reputation/pacing.py).
    pacing: Name | None = None


class AlertSettingsOut(BaseModel):
    partner_id: uuid.UUID
    slack_webhook_url: str | None
    slack_on: str
    pagerduty_routing_key: str | None
    production_lines: list[str]
    pacing: str = "advise"
    updated_at: datetime | None


def redact(secret: str | None, *, keep: int = 4) -> str | None:
    if not secret:
        return None
    return "…" + secret[-keep:] if len(secret) > keep * 2 else "…"


def redact_url(url: str | None) -> str | None:
    """Scheme and host stay readable; the path (Slack's token) does not."""
    if not url:
        return None
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{redact(rest.split('/', 1)[1] if '/' in rest else '')}"


class AlertOut(BaseModel):
    id: uuid.UUID
    channel: str
    kind: str
    state: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    summary: str


class AlertLog(BaseModel):
    alerts: list[AlertOut]
