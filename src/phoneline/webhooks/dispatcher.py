"""The webhook dispatcher: fans outbox events out into deliveries, claims due deliveries under a lease,
sends them concurrently, and records every attempt.

`phoneline serve` runs one in-process (app lifespan); `phoneline worker` runs one alone; on PostgreSQL
any number of them share the work (webhooks/queue.py explains why nothing is delivered twice in the
normal path). A worker that dies mid-delivery loses nothing: its leases expire and another worker (or
the same one, restarted) sends those deliveries again with the same `webhook-id` (at-least-once).

One loop per dispatcher, one transaction per turn: record finished attempts, fan out new events, claim
due deliveries (up to twice the concurrency, so a slot that frees up starts the next one without waiting
for a turn), then sleep until an attempt finishes, this process commits an event, or the poll interval
passes. Attempts are written back in batches, so the database is not the bottleneck when many
deliveries are in flight.
"""

from __future__ import annotations

import asyncio
import collections
import os
import secrets
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from phoneline.clock import Clock, SystemClock
from phoneline.crypto import SecretBox, SecretKeyMissing, SecretUnreadable
from phoneline.db.base import as_utc
from phoneline.logging import get_logger
from phoneline.metrics import WEBHOOK_DELIVERY_ATTEMPTS
from phoneline.net import outbound
from phoneline.settings import Settings
from phoneline.webhooks import fanout, outbox, queue, repository, sender, subscriptions
from phoneline.webhooks.models import AttemptOutcome, DeliveryState, WebhookSubscription
from phoneline.webhooks.retry import RetryPolicy
from phoneline.webhooks.sender import AttemptResult, Verdict
from phoneline.webhooks.signing import envelope_body, signed_headers

FAN_OUT_BATCH = 500
# Shares of the failure window at which the partner's alert channels hear about it, highest first.
FAILURE_ALERT_LEVELS = (90, 50)
MAX_ERROR_BACKOFF_S = 5.0
SECRET_CACHE_SIZE = 10_000
# A lane sends one request at a time; a few kept-alive connections serve its recent receivers.
LANE_CONNECTIONS = 4

log = get_logger("phoneline.webhooks.dispatcher")

# (session, subscription, level, now): level is 50 or 90 (% of the window) or 100 (deactivated).
FailureAlert = Callable[[AsyncSession, WebhookSubscription, int, datetime], Awaitable[None]]
# (session, events just fanned out, now): more consumers of the same outbox rows (alert channels).
EventConsumer = Callable[[AsyncSession, list[queue.ClaimedEvent], datetime], Awaitable[None]]


class Companion(Protocol):
    """More work done on the dispatcher's turns (the alert channels' own sends)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def step(self, now: datetime) -> bool: ...

    def in_flight(self) -> set[asyncio.Task[None]]: ...


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Finished:
    job: queue.DeliveryJob
    result: AttemptResult


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock | None = None,
        worker_id: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.clock: Clock = clock or SystemClock()
        self.worker_id = worker_id or default_worker_id()
        self.retry = retry or RetryPolicy(
            settings.webhook_retry_delays_s,
            jitter=settings.webhook_retry_jitter,
            retry_after_cap_s=settings.webhook_retry_after_cap_s,
        )
        self.concurrency = max(1, settings.webhook_concurrency)
        self.on_failure_alert: list[FailureAlert] = []
        self.event_consumers: list[EventConsumer] = []
        self.companions: list[Companion] = []
        self._all_lanes: list[httpx.AsyncHTTPTransport] = []
        self._lanes: list[httpx.AsyncHTTPTransport] = []  # free ones
        self._box: SecretBox | None = None
        # Decrypted signing secrets by ciphertext: decrypting once per subscription, not per attempt.
        self._secrets: dict[str, str] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        # Claimed (leased) but not started: a lane that frees up starts the next one at once instead of
        # waiting for the next turn's claim. At most `concurrency` of them.
        self._ready: collections.deque[queue.DeliveryJob] = collections.deque()
        self._finished: list[Finished] = []
        self._wake = asyncio.Event()
        # Whether the outbox may hold events not yet fanned out: set when this process commits events
        # and on every poll (other processes write events too), so idle turns skip that query.
        self._events_maybe_waiting = True
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> Dispatcher:
        self._loop = asyncio.get_running_loop()
        # One small transport per concurrent attempt ("lane") rather than one big pool: httpcore scans
        # its whole pool on every request, which made a shared 32-connection client 3x slower.
        ssl_context = httpx.create_ssl_context()
        self._all_lanes = [
            outbound.transport(connections=LANE_CONNECTIONS, ssl_context=ssl_context)
            for _ in range(self.concurrency)
        ]
        self._lanes = list(self._all_lanes)
        outbox.add_waker(self._wake_from_any_thread)
        for companion in self.companions:
            await companion.open()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        outbox.remove_waker(self._wake_from_any_thread)
        # Attempts in flight end within the attempt timeout; record them rather than let leases lapse.
        if self._in_flight:
            _done, stuck = await asyncio.wait(
                list(self._in_flight), timeout=self.settings.webhook_timeout_s + 1
            )
            for task in stuck:  # their leases expire and another turn sends them again
                task.cancel()
        if self._finished or self._ready:
            try:
                async with self.sessions() as session:
                    await self._record(session, self._finished, self.clock.now())
                    # Claimed but never started: hand them back now rather than when the lease expires.
                    await queue.release(session, [job.delivery_id for job in self._ready], self.worker_id)
                    await session.commit()
                self._finished = []
                self._ready.clear()
            except Exception:
                # Their leases expire and they are sent again: at-least-once, never lost.
                log.exception("dispatcher_final_record_failed", worker=self.worker_id)
        for lane in self._all_lanes:
            await lane.aclose()
        self._all_lanes, self._lanes = [], []
        for companion in self.companions:
            await companion.close()

    def wake(self) -> None:
        self._wake.set()

    def _wake_from_any_thread(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._new_events_committed)

    def _new_events_committed(self) -> None:
        self._events_maybe_waiting = True
        self._wake.set()

    def stop(self) -> None:
        """Finish the attempts in flight, record them, and return from `run()`. Call on its loop."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        async with self:
            log.info("dispatcher_started", worker=self.worker_id, concurrency=self.concurrency)
            backoff = self.settings.webhook_poll_interval_s
            while not self._stopping:
                self._wake.clear()
                try:
                    progressed = await self.step()
                    backoff = self.settings.webhook_poll_interval_s
                except Exception:
                    # The database went away, a lock timed out...: keep the loop alive and try again.
                    log.exception("dispatcher_step_failed", worker=self.worker_id)
                    progressed = False
                    backoff = min(backoff * 2, MAX_ERROR_BACKOFF_S)
                if progressed:
                    await asyncio.sleep(0)
                    continue
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=backoff)
                except TimeoutError:
                    self._events_maybe_waiting = True  # poll: other processes write events too
            log.info("dispatcher_stopping", worker=self.worker_id, in_flight=len(self._in_flight))

    async def drain(self) -> None:
        """Work until nothing is due now and nothing is in flight (tests with a manual clock, tools)."""
        async with self:
            while True:
                self._events_maybe_waiting = True
                progressed = await self.step()
                busy = set(self._in_flight).union(*(c.in_flight() for c in self.companions))
                if busy:
                    await asyncio.wait(busy)
                    continue
                if not progressed and not self._finished:
                    return

    # --- one turn of the loop ----------------------------------------------------------------------

    async def step(self) -> bool:
        """One transaction: write back finished attempts, fan out new events, claim due deliveries.

        Writing back first lets the next event about a line be claimed in the same turn.
        """
        finished, self._finished = self._finished, []
        look_for_events, self._events_maybe_waiting = self._events_maybe_waiting, False
        now = self.clock.now()
        events: list[queue.ClaimedEvent] = []
        try:
            async with self.sessions() as session:
                if finished:
                    await self._record(session, finished, now)
                if look_for_events:
                    events = await self._fan_out(session, now)
                jobs = await self._claim(session, now)
                await session.commit()
        except BaseException:
            self._finished[:0] = finished  # keep them for the next turn
            self._events_maybe_waiting = self._events_maybe_waiting or look_for_events
            raise
        if len(events) == FAN_OUT_BATCH:
            self._events_maybe_waiting = True  # there may be more right behind them
        self._ready.extend(jobs)
        self._start_ready()
        extra = False
        for companion in self.companions:
            extra = await companion.step(now) or extra
        return bool(finished or events or jobs or extra)

    async def _fan_out(self, session: AsyncSession, now: datetime) -> list[queue.ClaimedEvent]:
        events = await fanout.fan_out(session, now, FAN_OUT_BATCH)
        if events:
            for consume in self.event_consumers:
                await consume(session, events, now)
        return events

    async def _claim(self, session: AsyncSession, now: datetime) -> list[queue.DeliveryJob]:
        free = 2 * self.concurrency - len(self._in_flight) - len(self._ready)
        if free <= 0 or self._stopping:
            return []
        lease_until = now + timedelta(seconds=self.settings.webhook_lease_s)
        return await queue.claim_due_deliveries(
            session, now=now, worker=self.worker_id, lease_until=lease_until, limit=free
        )

    def _start_ready(self) -> None:
        while self._ready and self._lanes and not self._stopping:
            job = self._ready.popleft()
            task = asyncio.create_task(
                self._attempt(job, self._lanes.pop()), name=f"webhook-delivery-{job.delivery_id}"
            )
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

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
        self._start_ready()
        self._wake.set()

    async def _send(
        self, lane: httpx.AsyncHTTPTransport, job: queue.DeliveryJob, started: datetime
    ) -> AttemptResult:
        try:
            secret = self._signing_secret(job.signing_secret_encrypted)
        except (SecretKeyMissing, SecretUnreadable) as error:
            return AttemptResult(started, 0.0, Verdict.RETRYABLE, error=f"cannot sign: {error}")
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
        )
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
        await queue.record_attempts(session, self.worker_id, updates, attempts)
        for attempt in attempts:
            WEBHOOK_DELIVERY_ATTEMPTS.labels(attempt["outcome"]).inc()
        await queue.mark_succeeding(session, recovered)
        for subscription in await queue.mark_failing(session, failing, now):
            await self._check_failure_window(session, subscription, now)
        for subscription in await queue.subscriptions_by_id(session, gone):
            await subscriptions.deactivate(session, subscription, "the receiver answered 410 Gone", now)
            log.warning("webhook_subscription_gone", subscription_id=str(subscription.id))
        # Deactivated while these were in flight: what would be retried is cancelled now.
        for subscription_id in await queue.inactive_among(session, retrying):
            inactive = await repository.get(session, subscription_id)
            reason = (inactive.deactivated_reason if inactive else None) or "subscription inactive"
            await repository.cancel_pending(session, subscription_id, reason, now)

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
            await subscriptions.deactivate(
                session, subscription, f"every delivery failed for {hours:g} hours", now
            )
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


async def run_worker(settings: Settings, worker_id: str | None = None) -> None:
    """`phoneline worker`: one dispatcher in this process until SIGTERM or SIGINT."""
    from phoneline.db.engine import create_engine, create_sessionmaker
    from phoneline.reputation.worker import ReputationWorker

    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    dispatcher = build_dispatcher(settings, sessions, worker_id=worker_id)
    # The same process re-scores line health: both jobs claim their work with SKIP LOCKED.
    scorer = (
        ReputationWorker(
            settings.reputation, sessions, carrier=settings if settings.transport == "simulator" else None
        )
        if settings.reputation_worker_enabled
        else None
    )

    def stop() -> None:
        dispatcher.stop()
        if scorer is not None:
            scorer.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    try:
        await asyncio.gather(dispatcher.run(), *([scorer.run()] if scorer is not None else []))
    finally:
        await engine.dispose()


def build_dispatcher(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
    worker_id: str | None = None,
) -> Dispatcher:
    """The dispatcher with every outbox consumer: webhooks, and the partners' alert channels."""
    from phoneline.notify.sender import AlertSender

    dispatcher = Dispatcher(settings, sessions, clock=clock, worker_id=worker_id)
    alerts = AlertSender(
        settings,
        sessions,
        worker_id=dispatcher.worker_id,
        retry=dispatcher.retry,
        wake=dispatcher.wake,
        clock=dispatcher.clock,
    )
    dispatcher.event_consumers.append(alerts.plan)
    dispatcher.on_failure_alert.append(alerts.subscription_failing)
    dispatcher.companions.append(alerts)
    return dispatcher


class InProcessDispatcher:
    """A dispatcher running as a task of the app's event loop (`phoneline serve`)."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.task = asyncio.create_task(dispatcher.run(), name="webhook-dispatcher")

    @classmethod
    def start(cls, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> InProcessDispatcher:
        return cls(build_dispatcher(settings, sessions))

    async def stop(self) -> None:
        self.dispatcher.stop()
        await self.task
