"""One process of a group leads: under `phoneline serve --workers N` only the leader runs the shared
background work (webhooks, alerts, re-scoring, hand-over recovery).

Every process running the whole job runtime made each commit wake N runners that raced for the same
rows: on PostgreSQL, two API processes spent three times the database CPU per send of one
(docs/benchmarks.md). The leader holds an exclusive lock on a file the processes share; the kernel
releases it however the leader exits, and another process takes over within `retry_s`. A process
that does not lead still runs the work only it can do (its transport's delivery reports).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os

from phoneline.jobs.runtime import Runner
from phoneline.logging import get_logger

log = get_logger("phoneline.jobs")


class LeaderLock:
    """An exclusive, non-blocking lock on `path`, held by at most one process at a time."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class LeadingRunner:
    """Runs `runner` in this process while, and only once, it holds `lock` (a task of the app's loop)."""

    def __init__(self, lock: LeaderLock, runner: Runner, *, retry_s: float = 1.0) -> None:
        self.lock = lock
        self.runner = runner
        self.retry_s = retry_s
        self._stop = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name="jobs-leader")

    async def _run(self) -> None:
        while not self._stop.is_set():
            if self.lock.try_acquire():
                log.info("jobs_leader", worker=self.runner.worker_id, pid=os.getpid())
                try:
                    await self.runner.run()
                finally:
                    self.lock.release()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.retry_s)

    async def stop(self) -> None:
        self._stop.set()
        self.runner.stop()
        await self.task
