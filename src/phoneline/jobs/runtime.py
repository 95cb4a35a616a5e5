"""The job runtime: one loop that gives every kind of background work its turns.

A task (webhooks/tasks.py, notify/tasks.py, ...) owns one kind of work. On each turn it writes back what
finished, claims only what it can start now (jobs/lease.py), and starts it. The runner gives every task
its own loop, so one kind's slow turn (a re-scoring pass, an alert claim) never delays another kind's
next claim; it renews the leases of work in flight (heartbeat), wakes every loop on a commit that
created work (jobs/wake.py), polls as a fallback, keeps one failing task from stopping the others, and
stops cleanly. `drain()` works until nothing is due and nothing is in flight, for tests that drive time
with a manual clock.

`phoneline serve` runs a runner in-process (embedded) and `phoneline worker` one alone; worker.py
assembles their tasks. Any number of runners share the work on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from phoneline.clock import Clock, SystemClock
from phoneline.jobs import wake as wakeup
from phoneline.logging import get_logger

MAX_ERROR_BACKOFF_S = 5.0
# A runner's lease when none is given (`phoneline worker` and serve pass `job_lease_s`).
DEFAULT_LEASE_S = 10.0
log = get_logger("phoneline.jobs")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Task(Protocol):
    """One kind of background work, driven by a Runner."""

    kind: str

    async def open(self, runner: Runner) -> None: ...

    async def close(self) -> None:
        """Wait briefly for work in flight, record it, give back what was claimed but not started."""

    async def step(self, now: datetime) -> bool:
        """One turn; returns whether it did anything (wrote back, claimed or ran work)."""

    def in_flight(self) -> set[asyncio.Task[None]]: ...

    async def heartbeat(self, session: AsyncSession, lease_until: datetime) -> None:
        """Renew the leases of everything it has claimed and not yet written back."""

    def next_turn_in(self, now_monotonic: float) -> float | None:
        """Seconds until the task wants a turn without being woken (None: only when woken)."""


class UnleasedTask:
    """A base for tasks that claim nothing with a lease (in-memory batches, periodic passes): nothing to
    renew, and at most one turn of work running beside the runner's other tasks."""

    kind: str

    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()

    async def open(self, runner: Runner) -> None:
        self.runner = runner

    async def close(self) -> None:
        if self._running:
            await asyncio.wait(self._running)

    def in_flight(self) -> set[asyncio.Task[None]]:
        return self._running

    async def heartbeat(self, _session: AsyncSession, _lease_until: datetime) -> None:
        return None

    def run_beside(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Start one turn's work as its own asyncio task (a long pass must not hold up the others)."""
        task = asyncio.create_task(work, name=name)
        self._running.add(task)
        task.add_done_callback(self._running.discard)


class Runner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tasks: Sequence[Task],
        *,
        clock: Clock | None = None,
        worker_id: str | None = None,
        poll_interval_s: float = 0.2,
        lease_s: float = DEFAULT_LEASE_S,
        listen_conninfo: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.tasks = list(tasks)
        self.clock: Clock = clock or SystemClock()
        self.worker_id = worker_id or default_worker_id()
        self.poll_interval_s = poll_interval_s
        self.lease_s = lease_s
        self.listen_conninfo = listen_conninfo
        # One event per task: set when that task should take a turn soon.
        self._wake = {task.kind: asyncio.Event() for task in self.tasks}
        # Kinds woken by a commit that created work since their last turn.
        self._new_work: set[str] = {task.kind for task in self.tasks}
        self._turn_new_work: dict[str, bool] = {}
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._helpers: list[asyncio.Task[None]] = []

    @property
    def stopping(self) -> bool:
        return self._stopping

    def lease_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease_s)

    # --- waking ------------------------------------------------------------------------------------

    def wake(self, kind: str | None = None) -> None:
        """Give the task of `kind` a turn soon; with no kind, every task, as after a commit that created
        work. Call on the runner's loop."""
        if kind is None:
            self._new_work.update(self._wake)
        for name, event in self._wake.items():
            if kind in (None, name):
                event.set()

    def new_work(self, kind: str) -> bool:
        """Whether this turn of `kind` follows a commit that created work, or is a drain: tasks that
        look for new work only then (the webhook fan-out, which also looks on its own poll) skip that
        query on turns woken by their own attempts."""
        return self._turn_new_work.get(kind, True)

    def _wake_from_any_thread(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.wake)

    # --- lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> Runner:
        self._loop = asyncio.get_running_loop()
        wakeup.add_waker(self._wake_from_any_thread)
        for task in self.tasks:
            await task.open(self)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        wakeup.remove_waker(self._wake_from_any_thread)
        for helper in self._helpers:
            helper.cancel()
        for helper in self._helpers:
            with contextlib.suppress(asyncio.CancelledError):
                await helper
        self._helpers = []
        for task in self.tasks:
            try:
                await task.close()
            except Exception:
                # Its leases run out and the work is done again: at least once, never lost.
                log.exception("job_task_close_failed", kind=task.kind, worker=self.worker_id)

    def stop(self) -> None:
        """Finish the work in flight, record it, and return from `run()`. Call on the runner's loop."""
        self._stopping = True
        for event in self._wake.values():
            event.set()

    async def run(self) -> None:
        async with self:
            self._helpers.append(asyncio.create_task(self._heartbeat_forever(), name="jobs-heartbeat"))
            if self.listen_conninfo:
                self._helpers.append(
                    asyncio.create_task(wakeup.listen(self.listen_conninfo, self.wake), name="jobs-listen")
                )
            log.info("job_runner_started", worker=self.worker_id, kinds=[task.kind for task in self.tasks])
            await asyncio.gather(*(self._task_loop(task) for task in self.tasks))
            log.info("job_runner_stopping", worker=self.worker_id)

    async def _task_loop(self, task: Task) -> None:
        wake = self._wake[task.kind]
        backoff = self.poll_interval_s
        while not self._stopping:
            wake.clear()
            progressed, failed = await self._step(task, raise_errors=False)
            if failed:
                backoff = min(backoff * 2, MAX_ERROR_BACKOFF_S)
                await self._next_turn(task, wake, retry_in=backoff)
                continue
            backoff = self.poll_interval_s
            if progressed:
                # It may have more right behind what it just did.
                await asyncio.sleep(0)
                continue
            await self._next_turn(task, wake, retry_in=None)

    async def _next_turn(self, task: Task, wake: asyncio.Event, *, retry_in: float | None) -> None:
        """Until the task is woken, its own time comes (`next_turn_in`), or a failed turn is retried."""
        first = True
        while not self._stopping:
            due = retry_in if retry_in is not None else task.next_turn_in(time.monotonic())
            if due is not None and due <= 0:
                if not first:
                    return
                # It did nothing on the turn it just had and still asks for one now (its work is
                # running beside the runner, say): give it the poll interval rather than spin.
                due = self.poll_interval_s
            first = False
            try:
                await asyncio.wait_for(wake.wait(), timeout=due)
                return
            except TimeoutError:
                if retry_in is not None:
                    return

    async def drain(self) -> None:
        """Work until nothing is due now and nothing is in flight (tests with a manual clock, tools)."""
        async with self:
            while True:
                progressed = await self._turn()
                busy = set().union(*(task.in_flight() for task in self.tasks))
                if busy:
                    await asyncio.wait(busy)
                    continue
                if not progressed:
                    return

    # --- turns -------------------------------------------------------------------------------------

    async def _turn(self) -> bool:
        """Every task takes a turn, one after another, errors raised (drain); whether any did anything."""
        progressed = False
        for task in self.tasks:
            did, _failed = await self._step(task, raise_errors=True, new_work=True)
            progressed = progressed or did
        return progressed

    async def _step(self, task: Task, *, raise_errors: bool, new_work: bool = False) -> tuple[bool, bool]:
        """One turn of `task`: (whether it did anything, whether it failed)."""
        self._turn_new_work[task.kind] = new_work or task.kind in self._new_work
        self._new_work.discard(task.kind)
        try:
            return await task.step(self.clock.now()), False
        except Exception:
            if raise_errors:
                raise
            # The database went away, a lock timed out...: the other tasks go on; this one retries
            # after the error backoff.
            log.exception("job_step_failed", kind=task.kind, worker=self.worker_id)
            return False, True

    async def _heartbeat_forever(self) -> None:
        # A third of the lease: two renewals may fail (a slow database) before a lease runs out.
        interval = self.lease_s / 3
        while True:
            await asyncio.sleep(interval)
            try:
                # A task with nothing claimed issues no statement: an idle heartbeat costs nothing.
                async with self.sessions() as session:
                    until = self.lease_until(self.clock.now())
                    for task in self.tasks:
                        await task.heartbeat(session, until)
                    await session.commit()
            except Exception:
                log.exception("job_heartbeat_failed", worker=self.worker_id)


class InProcessRunner:
    """A runner as a task of the app's event loop (`phoneline serve`)."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.task = asyncio.create_task(runner.run(), name="jobs-runner")

    async def stop(self) -> None:
        self.runner.stop()
        await self.task
