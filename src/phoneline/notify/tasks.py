"""Alert delivery on the job runtime: plan alerts from the outbox, send them to Slack and PagerDuty,
retry them.

`plan` runs inside the webhook fan-out's transaction (so an alert exists exactly when its event has
been fanned out), `subscription_failing` inside the transaction that records a failing webhook attempt,
and `step` on the runner's turns: it writes back finished sends, claims due Slack batches and pages
under a lease (jobs/lease.py), and starts them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from phoneline.clock import Clock
from phoneline.crypto import SecretBox, SecretKeyMissing, SecretUnreadable
from phoneline.db.base import as_utc
from phoneline.errors import ApiError
from phoneline.events.types import LineStatusUpdated, iso
from phoneline.jobs import lease
from phoneline.jobs.retry import RetryPolicy, parse_retry_after
from phoneline.jobs.runtime import Runner
from phoneline.logging import get_logger
from phoneline.metrics import JOB_ATTEMPT_SECONDS, JOB_ATTEMPTS
from phoneline.net import outbound
from phoneline.notify import pagerduty, repository, slack
from phoneline.notify.models import AlertKind, AlertState, Channel, PartnerAlertSettings, SlackOn
from phoneline.settings import Settings
from phoneline.webhooks.models import WebhookSubscription
from phoneline.webhooks.queue import ClaimedEvent
from phoneline.webhooks.sender import Verdict, verdict_for

KIND = "alert"
SLACK_BATCH_LIMIT = 200
PAGE_LIMIT = 16
# Slack messages in flight at once (one per partner with pending changes); more wait for a connection.
SLACK_CONNECTIONS = 16

log = get_logger("phoneline.notify")


@dataclass(frozen=True)
class SendOutcome:
    alerts: list[repository.ClaimedAlert]
    verdict: Verdict
    status_code: int | None = None
    error: str | None = None
    retry_after_s: float | None = None


def _alert_row(
    partner_id: uuid.UUID,
    channel: Channel,
    kind: AlertKind,
    payload: dict[str, Any],
    now: datetime,
    event: ClaimedEvent | None = None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "partner_id": partner_id,
        "channel": channel.value,
        "kind": kind.value,
        "event_seq": event.seq if event else None,
        "line_id": event.line_id if event else None,
        "payload": {"kind": kind.value, **payload},
        "state": AlertState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _slack_on(tooling: PartnerAlertSettings | None) -> bool:
    return bool(tooling and tooling.slack_webhook_url_encrypted and tooling.slack_on != SlackOn.OFF.value)


class AlertDeliveries:
    """The `alert` task: Slack messages (coalesced per partner) and PagerDuty pages."""

    kind = KIND

    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], retry: RetryPolicy
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.retry = retry
        self._runner: Runner | None = None
        # One transport for pages and one for Slack, so a burst of Slack messages never makes a page wait
        # for a connection.
        self._transport: httpx.AsyncHTTPTransport | None = None
        self._slack_transport: httpx.AsyncHTTPTransport | None = None
        self._box: SecretBox | None = None
        self._finished: list[SendOutcome] = []
        self._tasks: set[asyncio.Task[None]] = set()
        # Monotonic time of the next look at the queue; 0 = look on the next turn.
        self._next_look = 0.0
        # Alerts claimed and not yet written back, by lease token: what the heartbeat renews.
        self._leases = lease.LeaseBook(repository.ALERTS)

    @property
    def runner(self) -> Runner:
        assert self._runner is not None, "the task is not open"
        return self._runner

    @property
    def clock(self) -> Clock:
        return self.runner.clock

    # --- Task --------------------------------------------------------------------------------------

    async def open(self, runner: Runner) -> None:
        self._runner = runner
        ssl_context = httpx.create_ssl_context()
        self._transport = outbound.transport(connections=PAGE_LIMIT, ssl_context=ssl_context)
        self._slack_transport = outbound.transport(connections=SLACK_CONNECTIONS, ssl_context=ssl_context)

    async def close(self) -> None:
        if self._tasks:
            _done, stuck = await asyncio.wait(list(self._tasks), timeout=self.settings.webhook_timeout_s + 1)
            for task in stuck:
                task.cancel()
        if self._finished:
            async with self.sessions() as session:
                await self._record(session, self._finished, self.clock.now())
                await session.commit()
            self._finished = []
        for transport in (self._transport, self._slack_transport):
            if transport is not None:
                await transport.aclose()
        self._transport = self._slack_transport = None

    def in_flight(self) -> set[asyncio.Task[None]]:
        return self._tasks

    def next_turn_in(self, now_monotonic: float) -> float | None:
        return max(0.0, self._next_look - now_monotonic)

    async def heartbeat(self, session: AsyncSession, lease_until: datetime) -> None:
        await self._leases.renew(session, lease_until)

    # --- planning ----------------------------------------------------------------------------------

    def _secret(self, encrypted: str) -> str:
        if self._box is None:
            self._box = SecretBox.from_settings(self.settings)
        return self._box.decrypt(encrypted)

    def _link(self, line_id: uuid.UUID | None) -> str:
        return f"{self.settings.base_url}/dashboard/lines/{line_id}" if line_id else self.settings.base_url

    async def plan(self, session: AsyncSession, events: list[ClaimedEvent], now: datetime) -> None:
        """Alerts for line changes, in the fan-out transaction of their events."""
        changes = [
            (event, typed) for event in events if isinstance(typed := event.typed(), LineStatusUpdated)
        ]
        if not changes:
            return
        configured = await repository.settings_for(session, {event.partner_id for event, _ in changes})
        rows = []
        for event, change in changes:
            tooling = configured.get(event.partner_id)
            if tooling is not None:
                rows.extend(self._plan_event(tooling, event, change, now))
        await repository.insert_alerts(session, rows)
        if rows:
            self._next_look = 0.0

    def _plan_event(
        self, tooling: PartnerAlertSettings, event: ClaimedEvent, change: LineStatusUpdated, now: datetime
    ) -> list[dict[str, Any]]:
        base = {
            "number": change.number,
            "changed_at": iso(change.changed_at),
            "link": self._link(event.line_id),
        }
        rows = []

        def alert(channel: Channel, kind: AlertKind, field: dict[str, str]) -> dict[str, Any]:
            return _alert_row(event.partner_id, channel, kind, {**base, **field}, now, event)

        status = {"field": "status", "old": change.previous_status, "new": change.new_status}
        health = {"field": "health", "old": change.previous_health, "new": change.new_health}
        if _slack_on(tooling):
            if change.status_changed:
                rows.append(alert(Channel.SLACK, AlertKind.LINE_STATUS, status))
            if change.health_changed and tooling.slack_on == SlackOn.STATUS_AND_HEALTH.value:
                rows.append(alert(Channel.SLACK, AlertKind.LINE_HEALTH, health))
        if (
            tooling.pagerduty_routing_key_encrypted
            and change.status_changed
            and change.number in tooling.production_lines
        ):
            kind = AlertKind.PAGE_TRIGGER if change.new_status == "FLAGGED" else AlertKind.PAGE_RESOLVE
            rows.append(alert(Channel.PAGERDUTY, kind, status))
        return rows

    async def subscription_failing(
        self, session: AsyncSession, subscription: WebhookSubscription, level: int, now: datetime
    ) -> None:
        """Tell the partner's Slack that a webhook subscription is failing (50%, 90%) or was cut off."""
        tooling = await repository.get_settings(session, subscription.partner_id)
        if not _slack_on(tooling):
            return
        window = timedelta(seconds=self.settings.webhook_failure_window_s)
        failing_since = as_utc(subscription.failing_since or now)
        payload = {
            # Without query string: it may carry the partner's own credentials.
            "target_url": subscription.target_url.split("?", 1)[0],
            "subscription_id": str(subscription.id),
            "level": level,
            "failing_since": iso(failing_since),
            "deactivates_at": iso(failing_since + window),
            "window_hours": window.total_seconds() / 3600,
        }
        row = _alert_row(subscription.partner_id, Channel.SLACK, AlertKind.SUBSCRIPTION_FAILING, payload, now)
        await repository.insert_alerts(session, [row])
        self._next_look = 0.0

    # --- sending -----------------------------------------------------------------------------------

    async def step(self, now: datetime) -> bool:
        """Write back finished sends and start due ones; cheap when there is nothing to do."""
        if not self._finished and time.monotonic() < self._next_look:
            return False
        self._next_look = time.monotonic() + self.settings.webhook_poll_interval_s
        finished, self._finished = self._finished, []
        self._leases.writing(alert.id for outcome in finished for alert in outcome.alerts)
        lease_until = self.runner.lease_until(now)
        token = lease.new_token(self.runner.worker_id)
        try:
            async with self.sessions() as session:
                await self._record(session, finished, now)
                batches = await repository.claim_slack_batches(
                    session,
                    now=now,
                    coalesced_before=now - timedelta(seconds=self.settings.slack_coalesce_s),
                    token=token,
                    lease_until=lease_until,
                    limit=SLACK_BATCH_LIMIT,
                )
                pages = await repository.claim_pages(
                    session, now=now, token=token, lease_until=lease_until, limit=PAGE_LIMIT
                )
                tooling = await repository.settings_for(
                    session, {alert.partner_id for alert in [*batches, *pages]}
                )
                await session.commit()
        except BaseException:
            self._finished[:0] = finished
            self._leases.written(())
            raise
        # Recorded: their leases ended with the write-back (until then the heartbeat kept them).
        self._leases.written((alert.token, alert.id) for outcome in finished for alert in outcome.alerts)
        self._leases.hold(token, (alert.id for alert in [*batches, *pages]))
        by_partner: dict[uuid.UUID, list[repository.ClaimedAlert]] = defaultdict(list)
        for alert in batches:
            by_partner[alert.partner_id].append(alert)
        for partner_id, alerts in by_partner.items():
            self._start(self._send_slack(tooling.get(partner_id), alerts))
        for page in pages:
            self._start(self._send_page(tooling.get(page.partner_id), page))
        return bool(finished or batches or pages)

    def _start(self, work: Any) -> None:
        async def timed() -> None:
            began = time.perf_counter()
            await work
            JOB_ATTEMPT_SECONDS.labels(KIND).observe(time.perf_counter() - began)

        task: asyncio.Task[None] = asyncio.create_task(timed())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _done(self, outcome: SendOutcome) -> None:
        self._finished.append(outcome)
        self._next_look = 0.0
        self.runner.wake(KIND)

    async def _send_slack(
        self, tooling: PartnerAlertSettings | None, alerts: list[repository.ClaimedAlert]
    ) -> None:
        if tooling is None or not tooling.slack_webhook_url_encrypted:
            self._done(SendOutcome(alerts, Verdict.FINAL, error="Slack is no longer configured"))
            return
        assert self._slack_transport is not None
        try:
            async with asyncio.timeout(self.settings.webhook_timeout_s + 1):
                reply = await slack.send(
                    self._slack_transport,
                    self._secret(tooling.slack_webhook_url_encrypted),
                    [alert.payload for alert in alerts],
                    allow_private=self.settings.allow_private_webhook_targets,
                    timeout_s=self.settings.webhook_timeout_s,
                )
        except ApiError as refused:
            self._done(SendOutcome(alerts, Verdict.RETRYABLE, error=f"refused: {refused.message}"))
            return
        except Exception as failure:
            self._done(SendOutcome(alerts, Verdict.RETRYABLE, error=f"network error: {failure!r}"))
            return
        retry_after = parse_retry_after(reply.retry_after, self.clock.now())
        error = None if 200 <= reply.status_code < 300 else reply.body[:500]
        self._done(SendOutcome(alerts, verdict_for(reply.status_code), reply.status_code, error, retry_after))

    async def _send_page(self, tooling: PartnerAlertSettings | None, alert: repository.ClaimedAlert) -> None:
        if tooling is None or not tooling.pagerduty_routing_key_encrypted:
            self._done(SendOutcome([alert], Verdict.FINAL, error="PagerDuty is no longer configured"))
            return
        assert self._transport is not None
        action = "trigger" if alert.kind == AlertKind.PAGE_TRIGGER.value else "resolve"
        try:
            routing_key = self._secret(tooling.pagerduty_routing_key_encrypted)
        except (SecretKeyMissing, SecretUnreadable) as unreadable:
            problem = f"cannot read the routing key: {unreadable}"
            self._done(SendOutcome([alert], Verdict.RETRYABLE, error=problem))
            return
        body = pagerduty.event(routing_key, action, alert.payload)
        try:
            async with asyncio.timeout(self.settings.webhook_timeout_s):
                status, excerpt, retry_after = await pagerduty.send(
                    self._transport,
                    self.settings.pagerduty_events_url,
                    body,
                    allow_private=self.settings.allow_private_webhook_targets,
                )
        except ApiError as refused:
            self._done(SendOutcome([alert], Verdict.RETRYABLE, error=f"refused: {refused.message}"))
            return
        except (TimeoutError, httpx.HTTPError) as failure:
            self._done(SendOutcome([alert], Verdict.RETRYABLE, error=f"network error: {failure!r}"))
            return
        error = None if 200 <= status < 300 else excerpt[:500]
        retry_after_s = parse_retry_after(retry_after, self.clock.now())
        self._done(SendOutcome([alert], verdict_for(status), status, error, retry_after_s))

    async def _record(self, session: AsyncSession, finished: list[SendOutcome], now: datetime) -> None:
        updates = []
        for outcome in finished:
            for alert in outcome.alerts:
                attempts = alert.attempts + 1
                next_at = None
                if outcome.verdict is Verdict.SUCCEEDED:
                    state = AlertState.SENT
                elif outcome.verdict is Verdict.RETRYABLE:
                    next_at = self.retry.next_attempt_at(attempts, now, outcome.retry_after_s)
                    state = AlertState.FAILED if next_at is None else AlertState.PENDING
                else:
                    state = AlertState.FAILED
                outcome_name = {AlertState.SENT: "succeeded", AlertState.PENDING: "retry"}.get(
                    state, "failed"
                )
                JOB_ATTEMPTS.labels(KIND, outcome_name).inc()
                log.info(
                    "alert_attempt",
                    alert_id=str(alert.id),
                    partner_id=str(alert.partner_id),
                    channel=alert.channel,
                    kind=alert.kind,
                    attempt=attempts,
                    status=outcome.status_code,
                    outcome=outcome_name,
                    error=outcome.error,
                )
                updates.append(
                    repository.AlertUpdate(
                        token=alert.token,
                        id=alert.id,
                        attempts=attempts,
                        state=state.value,
                        next_attempt_at=next_at,
                        status_code=outcome.status_code,
                        error=outcome.error,
                        sent_at=now if state is AlertState.SENT else None,
                    )
                )
        await repository.record(session, updates, now)
