"""Line health on the job runtime: drain the queue of changed chats, re-score them and their lines,
complete pending audits, and sweep every line now and then so windows roll over and quiet lines recover.

One turn every `rescore_interval_s` (jobs/runtime.py). The queue is leased with SKIP LOCKED in a
transaction of its own, committed before the re-score and renewed by the heartbeat while it runs
(jobs/lease.py, LeasedQueue), so several workers split it, sends never wait for a re-score, and a worker
that dies leaves its batch to the next once the short lease runs out. The sweep is one pass per
`sweep_interval_s` for all workers together (jobs/schedule.py): with N workers each used to sweep every
line, N times the work for the same scores.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from phoneline.clock import Clock, SystemClock
from phoneline.jobs import schedule
from phoneline.jobs.lease import new_token
from phoneline.jobs.runtime import DEFAULT_LEASE_S, Runner, UnleasedTask, default_worker_id
from phoneline.logging import get_logger
from phoneline.policy import HealthPolicy
from phoneline.reputation import audits, engine, repository
from phoneline.reputation.carrier import simulate_carrier
from phoneline.settings import Settings

log = get_logger("phoneline.reputation")
# Chat-days per claim: a busy interval's queue in one pass, so a line touched by many of its chats
# is scored once per interval (bench/reputation.py).
QUEUE_BATCH = 10000
SWEEP_BATCH = 200


KIND = "line_health"
SWEEP_PASS = "line_health_sweep"


class LineHealthTask(UnleasedTask):
    """The `line_health` task; `sweep()` and `drain_once()` also serve tools and tests directly.

    Its turn runs beside the other tasks' as an unleased task's does; the queue batch it re-scores is
    leased all the same, and `heartbeat` renews that lease."""

    kind = KIND

    def __init__(
        self,
        policy: HealthPolicy,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock | None = None,
        *,
        carrier: Settings | None = None,
    ) -> None:
        self.policy = policy
        # With the simulator transport, its carrier's flags are decided here (reputation/carrier.py).
        self.carrier = carrier
        self.sessions = sessions
        self.clock = clock or SystemClock()
        # Who takes the sweep: the runner's worker once opened; a tool's own run otherwise.
        self.worker_id = default_worker_id()
        self._next_turn = 0.0  # monotonic
        # The lease of the batch being re-scored (renewed by the heartbeat), and its length when no
        # runner sets it (a tool's own run).
        self._leased: str | None = None
        self.lease_s = DEFAULT_LEASE_S
        super().__init__()  # a turn runs beside the others: a long sweep must not hold up webhooks

    async def drain_once(self) -> int:
        """One batch from the queue; returns how many chats it re-scored.

        Two transactions: the lease commits at once, then the re-score runs and settles the lease. In
        one, the claimed counter rows stayed locked through the whole re-score and every send into
        those chats waited for it (docs/benchmarks.md, "send message: notes": most of the sends' lock
        waits under `phoneline serve --workers 2`)."""
        token = new_token(self.worker_id)
        now = self.clock.now()
        async with self.sessions() as session:
            pairs = await repository.lease_dirty_chats(
                session, token, now=now, until=now + timedelta(seconds=self.lease_s), limit=QUEUE_BATCH
            )
            await session.commit()
        if not pairs:
            return 0
        self._leased = token
        try:
            async with self.sessions() as session:
                now = self.clock.now()
                await engine.rescore_chats(session, [chat for chat, _ in pairs], self.policy, now)
                await engine.rescore_lines(session, sorted({line for _, line in pairs}), self.policy, now)
                # Last before the commit (whose events come after it): the counter rows are locked
                # for the commit only, in the order sends take them (counters, then the line's events).
                await repository.settle_dirty_chats(session, token)
                await session.commit()
        finally:
            # Settled, or left to run out: a worker that fails here or dies takes nothing with it.
            self._leased = None
        return len(pairs)

    async def sweep(self) -> int:
        """Re-score every assigned line (and its active chats); returns the number of lines."""
        async with self.sessions() as session:
            line_ids = await repository.scorable_line_ids(session)
        for start in range(0, len(line_ids), SWEEP_BATCH):
            batch = line_ids[start : start + SWEEP_BATCH]
            async with self.sessions() as session:
                await engine.rescore_lines_and_chats(session, batch, self.policy, self.clock.now())
                await session.commit()
        return len(line_ids)

    async def tick(self) -> None:
        while await self.drain_once() == QUEUE_BATCH:
            pass
        await audits.complete_pending(self.sessions, self.policy, self.clock)
        if self.carrier is not None:
            async with self.sessions() as session:
                for action in await simulate_carrier(session, self.carrier, self.clock.now()):
                    log.info("simulated_carrier", action=action)
                await session.commit()
        async with self.sessions() as session:
            due = await schedule.take_pass(
                session,
                SWEEP_PASS,
                now=self.clock.now(),
                every_s=self.policy.sweep_interval_s,
                worker_id=self.worker_id,
            )
            await session.commit()  # taken before it runs: the other workers skip this interval's
        if due:
            await self.sweep()

    # --- Task --------------------------------------------------------------------------------------

    async def open(self, runner: Runner) -> None:
        await super().open(runner)
        self.clock = runner.clock
        self.worker_id = runner.worker_id
        self.lease_s = runner.lease_s

    async def heartbeat(self, session: AsyncSession, lease_until: datetime) -> None:
        if self._leased is not None:
            await repository.renew_dirty_chats(session, self._leased, lease_until)

    def next_turn_in(self, now_monotonic: float) -> float | None:
        return max(0.0, self._next_turn - now_monotonic)

    async def step(self, now: datetime) -> bool:
        moment = time.monotonic()
        if self._running or moment < self._next_turn:
            return False
        self._next_turn = moment + self.policy.rescore_interval_s
        self.run_beside("line-health", self._tick_logged())
        # Not "progress": one turn per interval is the point (bench/reputation.py).
        return False

    async def _tick_logged(self) -> None:
        try:
            await self.tick()
        except Exception:
            log.exception("reputation_tick_failed")
