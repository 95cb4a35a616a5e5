"""One async engine per process, and the session factory every boundary (request, job, CLI) uses."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from phoneline.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 5000


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url[len(prefix) :])
    return None


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; the busy timeout makes a second process
    # (CLI, worker) wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(settings: Settings, *, pool: bool = True) -> AsyncEngine:
    url = settings.async_database_url
    kwargs: dict[str, Any] = {}
    if settings.is_sqlite:
        path = _sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        # SQLite has one writer. Writers on several connections of one process wait in SQLite's busy
        # handler, which sleeps in steps of up to 100 ms however soon the lock frees: under load that
        # is seconds of latency. So a process has exactly one connection and its sessions queue for it
        # in the pool, in order. No overflow: under load an overflow connection is not kept for the rare
        # nested session, every busy moment opens one, and they contend in the busy handler again (the
        # send benchmark measured 25 ms on average for a send's first insert, with four of them). Hence
        # nothing may wait, while holding a session, on work that needs another session (see
        # chats/routes.py for the voice memo download, done between two transactions).
        kwargs["pool_size"] = 1
        kwargs["max_overflow"] = 0
    else:
        kwargs["pool_size"] = settings.database_pool_size
        kwargs["max_overflow"] = max(1, settings.database_pool_size // 4)
        # asyncpg prepares every statement, and PostgreSQL may then switch a prepared statement to a
        # generic plan, blind to the parameters. The webhook claim's best plan depends on them (how many
        # it may take, from when): its generic plan took 30 ms where the planned one takes 6 (make bench,
        # "webhook fan-out"). Planning each run costs well under a millisecond for every query we send.
        kwargs["connect_args"] = {"server_settings": {"plan_cache_mode": "force_custom_plan"}}
    if not pool:
        kwargs = {k: v for k, v in kwargs.items() if k not in {"pool_size", "max_overflow"}}
        kwargs["poolclass"] = NullPool
    engine = create_async_engine(url, **kwargs)
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    else:
        event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
        event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


# A pooled connection idle longer than this is pinged before use, as `pool_pre_ping` would ping every
# one: a ping is a round trip, which a send at load paid on every checkout (a third more round trips
# than its statements need) for connections idle a few milliseconds. A database restart or a dropped
# idle connection still costs no request; one that dies within the window fails its request once,
# and the pool then replaces every connection (SQLAlchemy's disconnect handling).
PING_IF_IDLE_S = 1.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    checked_in_at = record.info.get("checked_in_at")
    if checked_in_at is None or time.monotonic() - checked_in_at < PING_IF_IDLE_S:
        return  # new (just connected) or used a moment ago
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
    except Exception as error:
        # The pool discards this connection and checks out another (up to three attempts).
        raise exc.DisconnectionError() from error


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
