"""A tiny in-process TTL cache for things that rarely change and are read on every request."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(
        self, ttl_s: float, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K, default: V | None = None) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return default
        expires_at, value = entry
        if expires_at <= self._clock():
            self._entries.pop(key, None)
            return default
        return value

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= self.max_entries:
            # Dicts keep insertion order: drop the oldest entry.
            self._entries.pop(next(iter(self._entries)), None)
        self._entries[key] = (self._clock() + self.ttl_s, value)

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
