"""Failed log-ins, counted per client address and per account with `limits` (a moving window, in process
memory or in Redis when PHONELINE_REDIS_URL is set, so every API process shares one count).

Past either limit every attempt is answered 429 with Retry-After, the right credentials included:
otherwise a guesser would learn which guess was right from the one attempt that was let through.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from phoneline.settings import Settings

KEY_PREFIX = "phoneline-login"


def _storage(settings: Settings) -> Storage:
    if settings.redis_url:
        url = settings.redis_url
        uri = url if url.startswith("async+") else "async+" + url
        storage = storage_from_string(uri, implementation="redispy", key_prefix=KEY_PREFIX)
    else:
        storage = storage_from_string("async+memory://")
    assert isinstance(storage, Storage)
    return storage


class LoginThrottle:
    def __init__(self, settings: Settings) -> None:
        window = settings.login_failure_window_s
        self.per_address = RateLimitItemPerSecond(settings.login_failures_per_address, window)
        self.per_account = RateLimitItemPerSecond(settings.login_failures_per_account, window)
        self.storage = _storage(settings)
        self.limiter = MovingWindowRateLimiter(self.storage)

    def _counts(self, address: str, account: str) -> tuple[tuple[RateLimitItemPerSecond, str, str], ...]:
        return ((self.per_address, "address", address), (self.per_account, "account", account))

    async def retry_after(self, address: str, account: str) -> int | None:
        """Seconds until this address and account may try again, or None if they may now."""
        for limit, scope, who in self._counts(address, account):
            if not await self.limiter.test(limit, scope, who):
                stats = await self.limiter.get_window_stats(limit, scope, who)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return None

    async def record_failure(self, address: str, account: str) -> None:
        for limit, scope, who in self._counts(address, account):
            await self.limiter.hit(limit, scope, who)

    async def forget(self) -> None:
        """Drop every count (tests; an operator restarting one process does the same for memory)."""
        await self.storage.reset()
