"""LoadingCache: one load per key under concurrency, stale-while-refresh within a bound."""

from __future__ import annotations

import asyncio

from phoneline.cache import LoadingCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_concurrent_misses_share_one_load() -> None:
    async def scenario() -> tuple[list[int], int]:
        calls = 0
        release = asyncio.Event()

        async def load() -> int:
            nonlocal calls
            calls += 1
            await release.wait()
            return 42

        cache: LoadingCache[str, int] = LoadingCache(0.5, clock=Clock())
        waiters = [asyncio.create_task(cache.get("k", load)) for _ in range(16)]
        await asyncio.sleep(0)
        release.set()
        return list(await asyncio.gather(*waiters)), calls

    values, calls = asyncio.run(scenario())
    assert values == [42] * 16 and calls == 1


def test_expired_entry_is_served_once_more_while_refreshing_then_waits() -> None:
    async def scenario() -> list[int]:
        clock = Clock()
        version = 0

        async def load() -> int:
            return version

        cache: LoadingCache[str, int] = LoadingCache(0.5, stale_s=0.25, clock=clock)
        seen = [await cache.get("k", load)]  # 0, loaded at t=0
        version = 1
        clock.now = 0.6  # stale but within the bound: old value now, refresh in the background
        seen.append(await cache.get("k", load))
        await asyncio.sleep(0)  # one turn of the loop: the background refresh completes
        seen.append(await cache.get("k", load))  # refreshed (loaded at t=0.6)
        version = 2
        clock.now = 2.0  # far past ttl + stale: the caller waits for fresh data
        seen.append(await cache.get("k", load))
        return seen

    assert asyncio.run(scenario()) == [0, 0, 1, 2]


def test_a_load_racing_an_invalidation_is_not_kept() -> None:
    async def scenario() -> list[int]:
        version = 0
        started, release = asyncio.Event(), asyncio.Event()

        async def slow_load() -> int:
            read = version  # what the database said before the local write
            started.set()
            await release.wait()
            return read

        cache: LoadingCache[str, int] = LoadingCache(10, clock=Clock())
        pending = asyncio.create_task(cache.get("k", slow_load))
        await started.wait()
        cache.invalidate("k")  # a local write happened while the old data was being read
        version = 1
        release.set()
        first = await pending

        async def load() -> int:
            return version

        return [first, await cache.get("k", load)]

    assert asyncio.run(scenario()) == [0, 1]
