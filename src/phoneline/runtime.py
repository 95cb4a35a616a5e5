"""Everything a running app holds for its lifetime: settings, engine, sessions and caches."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from phoneline.cache import LoadingCache
from phoneline.clock import Clock, SystemClock
from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.login_throttle import LoginThrottle
from phoneline.principal import Principal
from phoneline.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # key hash -> caller (or INVALID_KEY); short-lived, so a key revoked from another process
    # stops working within the TTL.
    api_keys: LoadingCache[str, Principal] = field(init=False)
    # (partner id, shape) -> rendered list body.
    line_lists: LoadingCache[tuple[uuid.UUID, str], bytes] = field(init=False)
    # Failed dashboard and console log-ins (login_throttle.py).
    login_throttle: LoginThrottle = field(init=False)
    # What dashboard sessions read the time from (replaced in tests).
    clock: Clock = field(default_factory=SystemClock)

    def __post_init__(self) -> None:
        # Served stale for at most half a TTL more while one task refreshes: with the 0.5 s default an
        # operator's change from another process shows within about 0.75 s.
        self.api_keys = LoadingCache(self.settings.list_cache_ttl_s)
        self.line_lists = LoadingCache(self.settings.list_cache_ttl_s)
        self.login_throttle = LoginThrottle(self.settings)

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings)
        return cls(settings=settings, engine=engine, sessions=create_sessionmaker(engine))

    def forget_partner_lines(self, partner_id: uuid.UUID | None) -> None:
        """Drop a partner's cached lists so this process reads its own writes at once."""
        if partner_id is None:
            return
        for shape in ("v3", "legacy"):
            self.line_lists.invalidate((partner_id, shape))

    async def close(self) -> None:
        await self.engine.dispose()
