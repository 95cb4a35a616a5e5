"""The per sender-recipient pair limit (Linq: 30 messages per 60 s, then 429/1007 with Retry-After).

A moving window from `limits`: in process memory by default, in Redis when PHONELINE_REDIS_URL is set so
several API processes share one count. In memory the synchronous limiter is used: it does no I/O, and
`limits`' asyncio memory storage re-scans every key through a worker thread on each hit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence

from limits import RateLimitItemPerSecond, WindowStats
from limits.aio.storage import Storage as AsyncStorage
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindow
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from phoneline.errors import RateLimited
from phoneline.settings import Settings

KEY_PREFIX = "phoneline-pair"
# How often the in-memory storage drops expired entries. The moving window ignores expired entries by
# itself when it counts; the sweep only returns memory, so it need not run often.
SWEEP_INTERVAL_S = 5.0


class _PairMemoryStorage(MemoryStorage):
    """`limits`' MemoryStorage, sweeping expired entries every SWEEP_INTERVAL_S instead of 10 ms after
    each hit. Its sweep walks every pair key on a new thread, so under steady sends it ran about once
    per message: a thread start and a scan of every key, growing with the pairs (the send benchmark's
    profile: a thread started for 98% of sends at 1,000 pairs). This overrides the name-mangled
    scheduler `limits` calls on every hit; the check below fails at import if a new `limits` renames it.
    """

    def _MemoryStorage__schedule_expiry(self) -> None:
        if not self.timer.is_alive():
            sweep = self._MemoryStorage__expire_events  # type: ignore[attr-defined]
            self.timer = threading.Timer(SWEEP_INTERVAL_S, sweep)
            self.timer.daemon = True
            self.timer.start()


# The two private names of `limits` 5.x relied on above: a release that renames them fails here, at import.
for _name in ("_MemoryStorage__schedule_expiry", "_MemoryStorage__expire_events"):
    if not hasattr(MemoryStorage, _name):
        raise ImportError(f"limits' MemoryStorage has no {_name} any more: update _PairMemoryStorage")


def _redis_storage(url: str) -> AsyncStorage:
    uri = url if url.startswith("async+") else "async+" + url
    storage = storage_from_string(uri, implementation="redispy", key_prefix=KEY_PREFIX)
    assert isinstance(storage, AsyncStorage)
    return storage


class PairLimiter:
    def __init__(self, settings: Settings) -> None:
        self.limit = RateLimitItemPerSecond(settings.pair_limit, settings.pair_limit_window_s)
        self._shared: AsyncMovingWindow | None = None
        self._local: MovingWindowRateLimiter | None = None
        if settings.redis_url:
            self._shared = AsyncMovingWindow(_redis_storage(settings.redis_url))
        else:
            self._local = MovingWindowRateLimiter(_PairMemoryStorage())

    async def _hit(self, line_number: str, recipient: str, *, consume: bool) -> bool:
        if self._local is not None:
            count = self._local.hit if consume else self._local.test
            return count(self.limit, line_number, recipient)
        assert self._shared is not None
        count_shared = self._shared.hit if consume else self._shared.test
        return await count_shared(self.limit, line_number, recipient)

    async def _stats(self, line_number: str, recipient: str) -> WindowStats:
        if self._local is not None:
            return self._local.get_window_stats(self.limit, line_number, recipient)
        assert self._shared is not None
        return await self._shared.get_window_stats(self.limit, line_number, recipient)

    async def check(self, line_number: str, recipients: Sequence[str]) -> None:
        """Refuse (429/1007) if any pair is at its limit; consumes nothing."""
        for recipient in recipients:
            if not await self._hit(line_number, recipient, consume=False):
                await self._refuse(line_number, recipient)

    async def acquire(self, line_number: str, recipients: Sequence[str]) -> None:
        """Count one message for every pair, or refuse (429/1007) if a pair is at its limit.

        Pairs of a group chat are counted one by one; a refusal on a later pair leaves the earlier
        ones counted, which errs on the side of sending less.
        """
        for recipient in recipients:
            if not await self._hit(line_number, recipient, consume=True):
                await self._refuse(line_number, recipient)

    async def _refuse(self, line_number: str, recipient: str) -> None:
        stats = await self._stats(line_number, recipient)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"At most {self.limit.amount} messages per {self.limit.get_expiry()} s from {line_number} "
            f"to {recipient}; retry after {retry_after} s.",
            retry_after=retry_after,
        )
