"""In-process caches for things that rarely change and are read on every request.

`LoadingCache`: concurrent misses for one key share a single load (no stampede), and an entry that just
expired is served once more while one background task refreshes it, so no request waits on the database in the steady state. Staleness stays
bounded: past `ttl_s + stale_s` callers wait for fresh data.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

from phoneline.logging import get_logger

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

log = get_logger("phoneline.cache")


class LoadingCache(Generic[K, V]):
    def __init__(
        self,
        ttl_s: float,
        *,
        stale_s: float | None = None,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.stale_s = ttl_s / 2 if stale_s is None else stale_s
        self.max_entries = max_entries
        self._clock = clock
        # key -> (time the load started, value): age counts from when the data was read.
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}
        self._generation = 0

    async def get(self, key: K, load: Callable[[], Coroutine[Any, Any, V]]) -> V:
        entry = self._entries.get(key)
        if entry is not None:
            loaded_at, value = entry
            age = self._clock() - loaded_at
            if age < self.ttl_s:
                return value
            if age < self.ttl_s + self.stale_s:
                self._refresh(key, load)
                return value
        return await asyncio.shield(self._refresh(key, load))

    def _refresh(self, key: K, load: Callable[[], Coroutine[Any, Any, V]]) -> asyncio.Future[V]:
        running = self._loading.get(key)
        if running is not None:
            return running
        started_at, generation = self._clock(), self._generation

        async def run() -> V:
            try:
                value = await load()
            finally:
                del self._loading[key]
            # An invalidation while loading means the value may predate a local write: do not keep it.
            if generation == self._generation:
                self._store(key, started_at, value)
            return value

        task = asyncio.get_running_loop().create_task(run())
        task.add_done_callback(_log_failure)
        self._loading[key] = task
        return task

    def _store(self, key: K, loaded_at: float, value: V) -> None:
        if key not in self._entries and len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)), None)
        self._entries[key] = (loaded_at, value)

    def invalidate(self, key: K) -> None:
        self._generation += 1
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()


def _log_failure(task: asyncio.Task[Any]) -> None:
    # Also marks the exception as retrieved when nobody awaited a background refresh.
    if not task.cancelled() and task.exception() is not None:
        log.warning("cache_load_failed", error=repr(task.exception()))
