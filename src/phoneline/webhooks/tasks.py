"""Webhook delivery on the job runtime: fan outbox events out into deliveries, claim due deliveries
under a lease, send them concurrently, and record every attempt.

On each turn (jobs/runtime.py) the task writes back finished attempts, fans out new events, and claims
only as many due deliveries as it has free slots, at most `webhook_subscription_concurrency` in flight
for one subscription and none for a subscription whose breaker is open (webhooks/queue.py). Attempts
are written back in batches, fenced by their lease token. A worker that dies mid-delivery loses
nothing: its short leases run out and another worker sends those deliveries again with the same
`webhook-id` (at-least-once).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from phoneline.clock import Clock
from phoneline.crypto import SecretBox, SecretKeyMissing, SecretUnreadable
from phoneline.db.base import as_utc
from phoneline.jobs import lease
from phoneline.jobs.retry import RetryPolicy
from phoneline.jobs.runtime import Runner
from phoneline.logging import get_logger
from phoneline.metrics import JOB_ATTEMPT_SECONDS, JOB_ATTEMPTS
from phoneline.net import outbound
from phoneline.settings import Settings
from phoneline.webhooks import fanout, queue, repository, sender, subscriptions
from phoneline.webhooks.models import AttemptOutcome, DeliveryState, WebhookSubscription
from phoneline.webhooks.sender import AttemptResult, Verdict
from phoneline.webhooks.signing import envelope_body, signed_headers

KIND = "webhook_delivery"
FAN_OUT_BATCH = 500
# Shares of the failure window at which the partner's alert channels hear about it, highest first.
FAILURE_ALERT_LEVELS = (90, 50)
SECRET_CACHE_SIZE = 10_000
# A lane sends one request at a time; a few kept-alive connections serve its recent receivers.
LANE_CONNECTIONS = 4

log = get_logger("phoneline.webhooks")

# (session, subscription, level, now): level is 50 or 90 (% of the window) or 100 (deactivated).
FailureAlert = Callable[[AsyncSession, WebhookSubscription, int, datetime], Awaitable[None]]
# (session, events just fanned out, now): more consumers of the same outbox rows (alert channels).
EventConsumer = Callable[[AsyncSession, list[queue.ClaimedEvent], datetime], Awaitable[None]]


@dataclass(frozen=True)
class Finished:
    job: queue.DeliveryJob
    result: AttemptResult


class WebhookDeliveries:
    """The `webhook_delivery` task."""

    kind = KIND

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        retry: RetryPolicy,
        *,
        on_failure_alert: list[FailureAlert] | None = None,
        event_consumers: list[EventConsumer] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.retry = retry
        self.concurrency = max(1, settings.webhook_concurrency)
        self.on_failure_alert = on_failure_alert or []
        self.event_consumers = event_consumers or []
        self._runner: Runner | None = None
        self._all_lanes: list[httpx.AsyncHTTPTransport] = []
        self._lanes: list[httpx.AsyncHTTPTransport] = []  # free ones
        self._box: SecretBox | None = None
        # Decrypted signing secrets by ciphertext: decrypting once per subscription, not per attempt.
        self._secrets: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Deliveries claimed and not yet written back, by lease token: what the heartbeat renews.
        self._leases = lease.LeaseBook(queue.DELIVERIES)
        self._finished: list[Finished] = []
        self._next_poll = 0.0

    @property
    def runner(self) -> Runner:
        assert self._runner is not None, "the task is not open"
        return self._runner

    @property
    def clock(self) -> Clock:
        return self.runner.clock

    @property
    def worker_id(self) -> str:
        return self.runner.worker_id

    # --- Task --------------------------------------------------------------------------------------

    async def open(self, runner: Runner) -> None:
        self._runner = runner
        # One small transport per concurrent attempt ("lane") rather than one big pool: httpcore scans
        # its whole pool on every request, which made a shared 32-connection client 3x slower.
        ssl_context = httpx.create_ssl_context()
        self._all_lanes = [
            outbound.transport(connections=LANE_CONNECTIONS, ssl_context=ssl_context)
            for _ in range(self.concurrency)
        ]
        self._lanes = list(self._all_lanes)

    async def close(self) -> None:
        # Attempts in flight end within the attempt timeout; record them rather than let leases lapse.
        if self._tasks:
            _done, stuck = await asyncio.wait(list(self._tasks), timeout=self.settings.webhook_timeout_s + 1)
            for task in stuck:  # their leases expire and another worker sends them again
                task.cancel()
        if self._finished:
            async with self.sessions() as session:
                await self._record(session, self._finished, self.clock.now())
                await session.commit()
            self._finished = []
        for lane in self._all_lanes:
            await lane.aclose()
        self._all_lanes, self._lanes = [], []

    def in_flight(self) -> set[asyncio.Task[None]]:
        return self._tasks

    def next_turn_in(self, now_monotonic: float) -> float | None:
        # Other processes write events and deliveries too: look now and then even when not woken.
        return max(0.0, self._next_poll - now_monotonic)

    async def heartbeat(self, session: AsyncSession, lease_until: datetime) -> None:
        if lost := await self._leases.renew(session, lease_until):
            log.warning("webhook_lease_lost", worker=self.worker_id, deliveries=len(lost))

    async def step(self, now: datetime) -> bool:
        """Write back finished attempts, fan out new events, claim what can start: one transaction.

        Writing back first lets the next event about a line be claimed in the same turn. A turn woken
        by a commit that created work, with attempts to write back, takes two transactions instead:
        the new events' deliveries are claimed and started first, and what finished is written back
        right after, so a new event does not wait for the write-back (about a third of a turn) before
        it is sent.
        """
        finished, self._finished = self._finished, []
        polled = time.monotonic() >= self._next_poll
        if polled:
            self._next_poll = time.monotonic() + self.settings.webhook_poll_interval_s
        look = polled or self.runner.new_work(KIND)
        if finished and look:
            await self._transaction([], now, look=True, claim=True)
            await self._transaction(finished, now, look=False, claim=False)
            return True
        return await self._transaction(finished, now, look=look, claim=True)

    async def _transaction(self, finished: list[Finished], now: datetime, *, look: bool, claim: bool) -> bool:
        """Record `finished`, fan out new events (`look`), claim due deliveries (`claim`), commit, and
        start what was claimed; whether it did anything. On failure the finished attempts are kept for
        the next turn."""
        self._leases.writing(item.job.delivery_id for item in finished)
        events: list[queue.ClaimedEvent] = []
        jobs: list[queue.DeliveryJob] = []
        try:
            async with self.sessions() as session:
                if finished:
                    await self._record(session, finished, now)
                if look:
                    events = await self._fan_out(session, now)
                if claim:
                    jobs = await self._claim(session, now)
                await session.commit()
        except BaseException:
            self._finished[:0] = finished  # keep them for the next turn
            self._leases.written(())
            raise
        # Recorded: their leases ended with the write-back (until then the heartbeat kept them).
        self._leases.written((item.job.token, item.job.delivery_id) for item in finished)
        if len(events) == FAN_OUT_BATCH:
            self._next_poll = 0.0  # there may be more right behind them
        for job in jobs:
            self._start(job)
        return bool(finished or events or jobs)

    # --- fan-out and claims ------------------------------------------------------------------------

    async def _fan_out(self, session: AsyncSession, now: datetime) -> list[queue.ClaimedEvent]:
        events = await fanout.fan_out(session, now, FAN_OUT_BATCH)
        if events:
            for consume in self.event_consumers:
                await consume(session, events, now)
        return events

    async def _claim(self, session: AsyncSession, now: datetime) -> list[queue.DeliveryJob]:
        # Only what can start now: a claimed delivery never waits in this process for a free slot.
        free = len(self._lanes)
        if free <= 0 or self.runner.stopping:
            return []
        return await queue.claim_due_deliveries(
            session,
            now=now,
            token=lease.new_token(self.worker_id),
            lease_until=self.runner.lease_until(now),
            limits=queue.ClaimLimits(
                worker_id=self.worker_id,
                slots=free,
                per_subscription=self.settings.webhook_subscription_concurrency,
                breaker_failures=self.settings.webhook_breaker_failures,
            ),
        )

    def _start(self, job: queue.DeliveryJob) -> None:
        self._leases.hold(job.token, (job.delivery_id,))
        task = asyncio.create_task(
            self._attempt(job, self._lanes.pop()), name=f"webhook-delivery-{job.delivery_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- one attempt -------------------------------------------------------------------------------

    async def _attempt(self, job: queue.DeliveryJob, lane: httpx.AsyncHTTPTransport) -> None:
        started = self.clock.now()
        try:
            result = await self._send(lane, job, started)
        except Exception as error:
            # A bug must not strand the delivery: record it as a failed attempt and retry later.
            log.exception("webhook_attempt_crashed", delivery_id=str(job.delivery_id))
            result = AttemptResult(started, 0.0, Verdict.RETRYABLE, error=f"internal error: {error!r}")
        finally:
            self._lanes.append(lane)
        self._finished.append(Finished(job, result))
        self.runner.wake(KIND)

    async def _send(
        self, lane: httpx.AsyncHTTPTransport, job: queue.DeliveryJob, started: datetime
    ) -> AttemptResult:
        # A delivery that cannot be signed or rendered never will be: it fails for good at once, with
        # the reason in the delivery log, so the line's later events are not held behind it.
        try:
            secret = self._signing_secret(job.signing_secret_encrypted)
        except (SecretKeyMissing, SecretUnreadable) as error:
            return AttemptResult(started, 0.0, Verdict.FINAL, error=f"cannot sign: {error}")
        try:
            body = envelope_body(
                event_id=job.event_id,
                event_type=job.event_type,
                created_at=job.event_created_at,
                trace_id=job.trace_id,
                partner_id=job.partner_id,
                data=job.data,
                webhook_version=job.webhook_version,
            )
            headers = signed_headers(
                secret=secret,
                event_id=job.event_id,
                event_type=job.event_type,
                subscription_id=job.subscription_id,
                body=body,
                sent_at=started,
                sequence=job.event_seq,
            )
        except (TypeError, ValueError) as error:  # UnicodeEncodeError is a ValueError
            return AttemptResult(started, 0.0, Verdict.FINAL, error=f"cannot render the event: {error}")
        return await sender.post(
            lane,
            job.target_url,
            headers=headers,
            body=body,
            started_at=started,
            allow_private=self.settings.allow_private_webhook_targets,
            timeout_s=self.settings.webhook_timeout_s,
            max_response_bytes=self.settings.webhook_response_max_bytes,
        )

    def _signing_secret(self, encrypted: str) -> str:
        secret = self._secrets.get(encrypted)
        if secret is None:
            if self._box is None:
                self._box = SecretBox.from_settings(self.settings)
            secret = self._box.decrypt(encrypted)
            if len(self._secrets) >= SECRET_CACHE_SIZE:
                self._secrets.clear()
            self._secrets[encrypted] = secret
        return secret

    # --- writing results back ----------------------------------------------------------------------

    def _plan(self, item: Finished, now: datetime) -> tuple[queue.DeliveryUpdate, dict[str, Any]]:
        job, result = item.job, item.result
        number = job.attempts_made + 1
        next_attempt_at: datetime | None = None
        error = result.error
        if result.verdict is Verdict.SUCCEEDED:
            state, outcome = DeliveryState.SUCCEEDED, AttemptOutcome.SUCCEEDED
        elif result.verdict is Verdict.RETRYABLE:
            next_attempt_at = self.retry.next_attempt_at(number, now, result.retry_after_s)
            if next_attempt_at is None:
                state, outcome = DeliveryState.FAILED, AttemptOutcome.FAILED
                error = f"{error or f'HTTP {result.status_code}'}; gave up after {number} attempts"
            else:
                state, outcome = DeliveryState.PENDING, AttemptOutcome.RETRY
        else:
            state, outcome = DeliveryState.FAILED, AttemptOutcome.FAILED
        update = queue.DeliveryUpdate(
            token=job.token,
            delivery_id=job.delivery_id,
            attempt_number=number,
            state=state.value,
            next_attempt_at=next_attempt_at,
            status_code=result.status_code,
            error=error,
            completed_at=None if state is DeliveryState.PENDING else now,
        )
        attempt = {
            "delivery_id": job.delivery_id,
            "number": number,
            "worker": self.worker_id,
            "started_at": result.started_at,
            "latency_ms": result.latency_ms,
            "status_code": result.status_code,
            "error": result.error,
            "response_excerpt": result.response_excerpt,
            "outcome": outcome.value,
            "next_attempt_at": next_attempt_at,
        }
        return update, attempt

    async def _record(self, session: AsyncSession, finished: list[Finished], now: datetime) -> None:
        updates, attempts = [], []
        # The latest verdict per subscription in this batch decides its failing/succeeding state.
        latest: dict[Any, Verdict] = {}
        for item in finished:
            update, attempt = self._plan(item, now)
            updates.append(update)
            attempts.append(attempt)
            latest[item.job.subscription_id] = item.result.verdict
        gone = {sid for sid, verdict in latest.items() if verdict is Verdict.GONE}
        failing = {sid for sid, verdict in latest.items() if verdict is not Verdict.SUCCEEDED} - gone
        # Healthy subscriptions (the usual case) need no write at all.
        recovered = {
            item.job.subscription_id
            for item in finished
            if item.job.subscription_failing and latest[item.job.subscription_id] is Verdict.SUCCEEDED
        }
        retrying = {
            item.job.subscription_id
            for item, update in zip(finished, updates, strict=True)
            if update.state == DeliveryState.PENDING.value
        }
        await queue.record_attempts(session, updates, attempts)
        for item, attempt in zip(finished, attempts, strict=True):
            self._observe(item, attempt)
        await self._update_breakers(session, finished, now)
        await queue.mark_succeeding(session, recovered)
        for subscription in await queue.mark_failing(session, failing, now):
            await self._check_failure_window(session, subscription, now)
        for subscription in await queue.subscriptions_by_id(session, gone):
            if await subscriptions.disable_subscription(
                session, subscription, "the receiver answered 410 Gone", now
            ):
                log.warning("webhook_subscription_gone", subscription_id=str(subscription.id))
        # Deactivated while these were in flight: what would be retried is cancelled now.
        for subscription_id in await queue.inactive_among(session, retrying):
            inactive = await repository.get(session, subscription_id)
            reason = (inactive.deactivated_reason if inactive else None) or "subscription inactive"
            await repository.cancel_pending(session, subscription_id, reason, now)

    def _observe(self, item: Finished, attempt: dict[str, Any]) -> None:
        """Metrics and the attempt's one log line (never the secret or the body)."""
        JOB_ATTEMPTS.labels(KIND, attempt["outcome"]).inc()
        JOB_ATTEMPT_SECONDS.labels(KIND).observe(item.result.latency_ms / 1000)
        log.info(
            "webhook_attempt",
            event_id=str(item.job.event_id),
            delivery_id=str(item.job.delivery_id),
            subscription_id=str(item.job.subscription_id),
            line_id=str(item.job.line_id) if item.job.line_id else None,
            attempt=attempt["number"],
            status=item.result.status_code,
            latency_ms=round(item.result.latency_ms, 1),
            outcome=attempt["outcome"],
            error=item.result.error,
            worker=self.worker_id,
        )

    async def _update_breakers(self, session: AsyncSession, finished: list[Finished], now: datetime) -> None:
        """Unreachable attempts extend a subscription's run (and may open its breaker); an answer ends it."""
        unreachable: Counter[Any] = Counter()
        answered = set()
        for item in finished:
            if item.result.unreachable:
                unreachable[item.job.subscription_id] += 1
            elif item.job.breaker_failures:
                answered.add(item.job.subscription_id)
        answered -= set(unreachable)
        await repository.close_breakers(session, answered)

        def open_until(run: int) -> datetime | None:
            threshold = self.settings.webhook_breaker_failures
            if run < threshold:
                return None
            cooldown = self.settings.webhook_breaker_cooldown_s * 2 ** min(run - threshold, 16)
            return now + timedelta(seconds=min(cooldown, self.settings.webhook_breaker_max_cooldown_s))

        for subscription_id in await repository.count_unreachable(session, dict(unreachable), open_until):
            log.warning("webhook_breaker_open", subscription_id=str(subscription_id))

    async def _check_failure_window(
        self, session: AsyncSession, subscription: WebhookSubscription, now: datetime
    ) -> None:
        """Deactivate after the whole window without a success; warn at 50% and 90% of it."""
        if subscription.failing_since is None:
            return
        window = self.settings.webhook_failure_window_s
        share = (now - as_utc(subscription.failing_since)).total_seconds() / window * 100
        if share >= 100:
            hours = window / 3600
            reason = f"every delivery failed for {hours:g} hours"
            if await subscriptions.disable_subscription(session, subscription, reason, now):
                log.warning("webhook_subscription_failing_deactivated", subscription_id=str(subscription.id))
                await self._alert(session, subscription, 100, now)
            return
        for level in FAILURE_ALERT_LEVELS:
            if share >= level:
                if subscription.failure_alert_level < level:
                    subscription.failure_alert_level = level
                    await self._alert(session, subscription, level, now)
                return

    async def _alert(
        self, session: AsyncSession, subscription: WebhookSubscription, level: int, now: datetime
    ) -> None:
        log.warning("webhook_subscription_failing", subscription_id=str(subscription.id), level=level)
        for alert in self.on_failure_alert:
            await alert(session, subscription, level, now)
