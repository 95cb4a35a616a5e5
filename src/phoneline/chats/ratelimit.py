"""The per sender-recipient pair limit (Linq: 30 messages per 60 s, then 429/1007 with Retry-After).

A moving window from `limits`: in process memory by default, in Redis when PHONELINE_REDIS_URL is set so
several API processes share one count.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from phoneline.api.errors import RateLimited
from phoneline.settings import Settings

KEY_PREFIX = "phoneline-pair"


def _storage(settings: Settings) -> Storage:
    if not settings.redis_url:
        return MemoryStorage()
    uri = settings.redis_url
    if not uri.startswith("async+"):
        uri = "async+" + uri
    storage = storage_from_string(uri, implementation="redispy", key_prefix=KEY_PREFIX)
    assert isinstance(storage, Storage)
    return storage


class PairLimiter:
    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.limit = RateLimitItemPerSecond(settings.pair_limit, settings.pair_limit_window_s)
        self.storage = storage or _storage(settings)
        self._limiter = MovingWindowRateLimiter(self.storage)

    async def check(self, line_number: str, recipients: Sequence[str]) -> None:
        """Refuse (429/1007) if any pair is at its limit; consumes nothing."""
        for recipient in recipients:
            if not await self._limiter.test(self.limit, line_number, recipient):
                await self._refuse(line_number, recipient)

    async def acquire(self, line_number: str, recipients: Sequence[str]) -> None:
        """Count one message for every pair, or refuse (429/1007) if a pair is at its limit.

        Pairs of a group chat are counted one by one; a refusal on a later pair leaves the earlier
        ones counted, which errs on the side of sending less.
        """
        for recipient in recipients:
            if not await self._limiter.hit(self.limit, line_number, recipient):
                await self._refuse(line_number, recipient)

    async def _refuse(self, line_number: str, recipient: str) -> None:
        stats = await self._limiter.get_window_stats(self.limit, line_number, recipient)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"At most {self.limit.amount} messages per {self.limit.get_expiry()} s from {line_number} "
            f"to {recipient}; retry after {retry_after} s.",
            retry_after=retry_after,
        )

    async def reset(self) -> None:
        await self.storage.reset()

    async def close(self) -> None:
        # The Redis connection pool belongs to the storage; memory storage has nothing to release.
        return None
