"""The rules for a partner's "API Tooling" alert settings (`phoneline partners configure`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.crypto import SecretBox, SecretKeyMissing, SecretUnreadable
from phoneline.db.base import as_utc, utcnow
from phoneline.errors import InvalidParameter, ServiceUnavailable
from phoneline.lines.numbers import to_e164
from phoneline.net import outbound
from phoneline.net.outbound import validate_url
from phoneline.notify import pagerduty, repository, slack
from phoneline.notify.models import AlertKind, AlertNotification, PartnerAlertSettings, SlackOn
from phoneline.notify.schemas import (
    AlertLog,
    AlertOut,
    AlertSettingsOut,
    AlertSettingsUpdate,
    redact,
    redact_url,
)
from phoneline.partners.service import require_partner
from phoneline.policy import PacingMode
from phoneline.settings import Settings

MAX_ROUTING_KEY_LENGTH = 64


def parse_slack_on(value: str) -> SlackOn:
    normalized = ",".join(part.strip().lower() for part in value.split(",") if part.strip())
    if normalized == "health,status":
        normalized = SlackOn.STATUS_AND_HEALTH.value
    for choice in SlackOn:
        if normalized == choice.value:
            return choice
    raise InvalidParameter(f"'{value}' is not a Slack setting; use status, status,health or off.")


def _routing_key(value: str) -> str:
    key = value.strip()
    if len(key) > MAX_ROUTING_KEY_LENGTH or not key.isalnum():
        raise InvalidParameter("A PagerDuty routing key is up to 64 letters and digits (Events API v2).")
    return key


# Shown in place of a stored credential this process cannot decrypt: the page still works, and says why.
UNREADABLE = "(stored, but PHONELINE_SECRET_KEY cannot decrypt it)"


def _redacted(settings: Settings, token: str | None, redactor: Callable[[str], str | None]) -> str | None:
    """A stored credential as it may be shown (redacted), read without ever failing the page."""
    if not token:
        return None
    try:
        return redactor(SecretBox.from_settings(settings).decrypt(token))
    except (SecretKeyMissing, SecretUnreadable):
        return UNREADABLE


def shown(
    settings: Settings, row: PartnerAlertSettings | None, partner_id: uuid.UUID, pacing: str = "advise"
) -> AlertSettingsOut:
    if row is None:
        return AlertSettingsOut(
            partner_id=partner_id,
            pacing=pacing,
            slack_webhook_url=None,
            slack_on=SlackOn.STATUS.value,
            pagerduty_routing_key=None,
            production_lines=[],
            updated_at=None,
        )
    return AlertSettingsOut(
        partner_id=partner_id,
        pacing=pacing,
        slack_webhook_url=_redacted(settings, row.slack_webhook_url_encrypted, redact_url),
        slack_on=row.slack_on,
        pagerduty_routing_key=_redacted(settings, row.pagerduty_routing_key_encrypted, redact),
        production_lines=list(row.production_lines),
        updated_at=as_utc(row.updated_at),
    )


async def show_settings(session: AsyncSession, settings: Settings, partner_id: str) -> AlertSettingsOut:
    partner = await require_partner(session, partner_id)
    return shown(
        settings, await repository.get_settings(session, partner.id), partner.id, partner.pacing_mode
    )


def parse_pacing(value: str) -> PacingMode:
    try:
        return PacingMode(value.strip().lower())
    except ValueError:
        raise InvalidParameter(f"'{value}' is not a pacing policy; use advise or enforce.") from None


async def configure(
    session: AsyncSession, settings: Settings, partner_id: str, change: AlertSettingsUpdate
) -> AlertSettingsOut:
    partner = await require_partner(session, partner_id)
    given = change.model_fields_set
    # Validate everything before changing anything.
    slack_url = None
    if "slack_webhook_url" in given and change.slack_webhook_url:
        slack_url = await validate_url(
            change.slack_webhook_url,
            allow_private=settings.allow_private_webhook_targets,
            what="Slack webhook URL",
        )
    slack_on = parse_slack_on(change.slack_on) if change.slack_on is not None else None
    routing_key = None
    if "pagerduty_routing_key" in given and change.pagerduty_routing_key:
        routing_key = _routing_key(change.pagerduty_routing_key)
    pacing = parse_pacing(change.pacing) if change.pacing is not None else None
    production_lines = None
    if change.production_lines is not None:
        production_lines = list(dict.fromkeys(to_e164(number) for number in change.production_lines))

    # Only credentials need PHONELINE_SECRET_KEY; pacing, Slack's choice and production lines never do.
    box = SecretBox.from_settings(settings) if slack_url or routing_key else None
    row = await repository.get_settings(session, partner.id)
    if row is None:
        row = PartnerAlertSettings(partner_id=partner.id, slack_on=SlackOn.STATUS.value, production_lines=[])
        session.add(row)
    if "slack_webhook_url" in given:
        row.slack_webhook_url_encrypted = box.encrypt(slack_url) if box and slack_url else None
    if slack_on is not None:
        row.slack_on = slack_on.value
    if "pagerduty_routing_key" in given:
        row.pagerduty_routing_key_encrypted = box.encrypt(routing_key) if box and routing_key else None
    if production_lines is not None:
        row.production_lines = production_lines
    if pacing is not None:
        partner.pacing_mode = pacing.value
    row.updated_at = utcnow()
    await session.flush()
    return shown(settings, row, partner.id, partner.pacing_mode)


def _summary(alert: AlertNotification) -> str:
    payload = alert.payload
    if alert.kind == AlertKind.SUBSCRIPTION_FAILING.value:
        return f"webhook subscription {payload['subscription_id']} failing ({payload['level']}%)"
    return f"{payload['number']} {payload['field']} {payload['old']} -> {payload['new']}"


async def alert_log(session: AsyncSession, partner_id: str, *, limit: int = 50) -> AlertLog:
    """What was (or is being) sent to the partner's channels, newest first."""
    partner = await require_partner(session, partner_id)
    return AlertLog(
        alerts=[
            AlertOut(
                id=alert.id,
                channel=alert.channel,
                kind=alert.kind,
                state=alert.state,
                attempts=alert.attempts,
                last_status_code=alert.last_status_code,
                last_error=alert.last_error,
                created_at=as_utc(alert.created_at),
                sent_at=as_utc(alert.sent_at) if alert.sent_at else None,
                summary=_summary(alert),
            )
            for alert in await repository.list_alerts(session, partner.id, limit=limit)
        ]
    )


async def send_slack_test(session: AsyncSession, settings: Settings, partner_id: str) -> int:
    """Post a test message to the partner's configured Slack webhook; returns Slack's HTTP status.

    Refused URLs raise the same OutboundRefused as `configure`; an unreachable or refusing Slack raises
    ServiceUnavailable with what Slack said.
    """
    partner = await require_partner(session, partner_id)
    row = await repository.get_settings(session, partner.id)
    if row is None or not row.slack_webhook_url_encrypted:
        raise InvalidParameter("Set a Slack incoming-webhook URL first, then send a test message.")
    try:
        url = SecretBox.from_settings(settings).decrypt(row.slack_webhook_url_encrypted)
    except SecretUnreadable:
        raise ServiceUnavailable(
            "The stored Slack URL does not decrypt with PHONELINE_SECRET_KEY; save it again."
        ) from None
    transport = outbound.transport(connections=1)
    try:
        reply = await slack.send_test(
            transport,
            url,
            allow_private=settings.allow_private_webhook_targets,
            timeout_s=settings.webhook_timeout_s,
        )
    except TimeoutError:
        raise ServiceUnavailable("Slack could not be reached: it did not answer in time.") from None
    except httpx.HTTPError as failure:
        raise ServiceUnavailable(
            f"Slack could not be reached: {failure or type(failure).__name__}."
        ) from None
    finally:
        await transport.aclose()
    if not 200 <= reply.status_code < 300:
        raise ServiceUnavailable(f"Slack answered {reply.status_code}: {reply.body[:200]}")
    return reply.status_code


TEST_DEDUP_PREFIX = "phoneline/test/"


async def send_pagerduty_test(session: AsyncSession, settings: Settings, partner_id: str) -> tuple[int, int]:
    """Trigger a low-severity test incident with the partner's routing key, then resolve it at once, so
    nobody stays paged; returns PagerDuty's HTTP status for each. Failures raise ServiceUnavailable with
    what PagerDuty said, like the Slack test."""
    partner = await require_partner(session, partner_id)
    row = await repository.get_settings(session, partner.id)
    if row is None or not row.pagerduty_routing_key_encrypted:
        raise InvalidParameter("Set a PagerDuty routing key first, then send a test event.")
    routing_key = SecretBox.from_settings(settings).decrypt(row.pagerduty_routing_key_encrypted)
    dedup = f"{TEST_DEDUP_PREFIX}{partner.id}"
    trigger = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": {
            "summary": "phoneline test event: your PagerDuty integration works (resolved at once)",
            "source": "phoneline",
            "severity": "info",
            "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
            "class": "test",
        },
    }
    resolve = {"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup}
    transport = outbound.transport(connections=1)
    statuses = []
    try:
        for body in (trigger, resolve):
            try:
                async with asyncio.timeout(settings.webhook_timeout_s):
                    status, excerpt, _retry_after = await pagerduty.send(
                        transport,
                        settings.pagerduty_events_url,
                        body,
                        allow_private=settings.allow_private_webhook_targets,
                    )
            except TimeoutError:
                raise ServiceUnavailable(
                    "PagerDuty could not be reached: it did not answer in time."
                ) from None
            except httpx.HTTPError as failure:
                raise ServiceUnavailable(
                    f"PagerDuty could not be reached: {failure or type(failure).__name__}."
                ) from None
            if not 200 <= status < 300:
                raise ServiceUnavailable(f"PagerDuty answered {status}: {excerpt[:200]}")
            statuses.append(status)
    finally:
        await transport.aclose()
    return statuses[0], statuses[1]
