"""The pair limit is shared by every API process when PHONELINE_REDIS_URL is set."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
import redis

from phoneline.chats.ratelimit import PairLimiter
from phoneline.errors import RateLimited
from phoneline.settings import Settings

REDIS_URL = os.environ.get("PHONELINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not redis_reachable(), reason="no Redis at PHONELINE_TEST_REDIS_URL")
def test_two_processes_share_one_window_through_redis():
    settings = Settings(redis_url=REDIS_URL, pair_limit=3, pair_limit_window_s=60)
    line = f"+1-test-{uuid.uuid4()}"  # a pair no other run has used

    async def scenario() -> float:
        first, second = PairLimiter(settings), PairLimiter(settings)  # as two API processes would
        await first.acquire(line, ["+12025550199"])
        await second.acquire(line, ["+12025550199"])
        await first.acquire(line, ["+12025550199"])
        await first.acquire(line, ["+12025550188"])  # another pair has its own window
        with pytest.raises(RateLimited) as limited:
            await second.acquire(line, ["+12025550199"])
        assert limited.value.retry_after is not None
        return limited.value.retry_after

    assert 1 <= asyncio.run(scenario()) <= 60


def test_in_memory_windows_are_per_process():
    settings = Settings(pair_limit=1)

    async def scenario() -> None:
        first, second = PairLimiter(settings), PairLimiter(settings)
        await first.acquire("+12025550101", ["+12025550199"])
        await second.acquire("+12025550101", ["+12025550199"])
        with pytest.raises(RateLimited):
            await first.check("+12025550101", ["+12025550199"])

    asyncio.run(scenario())
