"""The transport's background work on the job runtime, in every process that has a transport
(`phoneline serve`): applying carriers' delivery reports in batches, and recovering lost hand-overs."""

from __future__ import annotations

import time
from datetime import datetime

from phoneline.chats.dispatch import Dispatcher
from phoneline.chats.ingest import Ingest
from phoneline.jobs.runtime import Runner, UnleasedTask
from phoneline.logging import get_logger
from phoneline.metrics import JOB_ATTEMPT_SECONDS, JOB_ATTEMPTS
from phoneline.settings import Settings

REPORTS_KIND = "delivery_report"
RECOVERY_KIND = "handover_recovery"
# A report waits a moment for others: under load a batch then shares one transaction instead of paying
# one each.
REPORT_LINGER_S = 0.02

log = get_logger("phoneline.transport")


class DeliveryReports(UnleasedTask):
    """The `delivery_report` task: what carriers report (delivered, failed, read), a batch at a time."""

    kind = REPORTS_KIND

    def __init__(self, ingest: Ingest) -> None:
        super().__init__()
        self.ingest = ingest
        self._first_waiting_since: float | None = None

    async def open(self, runner: Runner) -> None:
        await super().open(runner)
        self.ingest.on_report = self._report_queued

    async def close(self) -> None:
        await super().close()
        self.ingest.on_report = lambda: None
        while await self.ingest.apply_batch():
            pass

    def _report_queued(self) -> None:
        if self._first_waiting_since is None:
            self._first_waiting_since = time.monotonic()
            self.runner.wake(self.kind)

    def next_turn_in(self, now_monotonic: float) -> float | None:
        if self._first_waiting_since is None:
            return None
        return max(0.0, self._first_waiting_since + REPORT_LINGER_S - now_monotonic)

    async def step(self, now: datetime) -> bool:
        if self._running or self.ingest.reports.empty():
            return False
        waiting = self.next_turn_in(time.monotonic())
        if waiting and not self.runner.stopping:
            return False
        self._first_waiting_since = None
        self.run_beside("delivery-reports", self._apply())
        return True

    async def _apply(self) -> None:
        began = time.perf_counter()
        applied = await self.ingest.apply_batch()
        JOB_ATTEMPTS.labels(self.kind, "succeeded").inc(applied)
        JOB_ATTEMPT_SECONDS.labels(self.kind).observe(time.perf_counter() - began)
        if not self.ingest.reports.empty():
            self._first_waiting_since = self._first_waiting_since or time.monotonic()
            self.runner.wake(self.kind)


class HandoverRecovery(UnleasedTask):
    """The `handover_recovery` task: a pass at start, then every PHONELINE_TRANSPORT_RECOVERY_INTERVAL_S,
    hands committed messages that no transport confirmed taking to the transport again."""

    kind = RECOVERY_KIND

    def __init__(self, dispatcher: Dispatcher, settings: Settings) -> None:
        super().__init__()
        self.dispatcher = dispatcher
        self.interval_s = settings.transport_recovery_interval_s
        self._next_pass = 0.0

    def next_turn_in(self, now_monotonic: float) -> float | None:
        return max(0.0, self._next_pass - now_monotonic)

    async def step(self, now: datetime) -> bool:
        moment = time.monotonic()
        if self._running or moment < self._next_pass:
            return False
        self._next_pass = moment + self.interval_s
        self.run_beside("handover-recovery", self._pass())
        return False

    async def _pass(self) -> None:
        began = time.perf_counter()
        try:
            queued = await self.dispatcher.recover()
        except Exception:
            log.exception("handover_recovery_failed")
            JOB_ATTEMPTS.labels(self.kind, "retry").inc()
            return
        JOB_ATTEMPTS.labels(self.kind, "succeeded").inc()
        JOB_ATTEMPT_SECONDS.labels(self.kind).observe(time.perf_counter() - began)
        if queued:
            log.info("handover_recovery_pass", queued=queued)
