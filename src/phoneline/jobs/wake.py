"""Wake-on-commit: a transaction that creates background work wakes the workers when it commits.

In this process the runners are woken directly after the commit. On PostgreSQL the transaction also
sends `NOTIFY phoneline_jobs` (delivered by the server at commit, never for a rollback), which every
`phoneline worker` LISTENs for; polling stays as the fallback for a missed notification. An outbox
insert notifies from its trigger (migration 0010), so a transaction whose only work is events sends
no NOTIFY statement of its own: a round trip less for every send.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from phoneline.logging import get_logger

CHANNEL = "phoneline_jobs"
_CREATED = "phoneline.jobs.work_created"
# Work the database does not announce by itself: the transaction sends the NOTIFY before committing.
_UNANNOUNCED = "phoneline.jobs.work_unannounced"
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")
_wakers: set[Callable[[], None]] = set()
_lock = threading.Lock()
log = get_logger("phoneline.jobs")


def work_created(session: AsyncSession | Session, *, announced_by_database: bool = False) -> None:
    """Mark the session's transaction as one that creates work: workers wake when it commits.

    `announced_by_database`: the rows written notify other processes themselves (outbox events, by
    their trigger on PostgreSQL), so no NOTIFY statement is needed for them.
    """
    session.info[_CREATED] = True
    if not announced_by_database:
        session.info[_UNANNOUNCED] = True


def add_waker(wake: Callable[[], None]) -> None:
    """Call `wake` (thread-safe; from any thread) after each commit in this process that created work."""
    with _lock:
        _wakers.add(wake)


def remove_waker(wake: Callable[[], None]) -> None:
    with _lock:
        _wakers.discard(wake)


@event.listens_for(Session, "before_commit")
def _notify_other_processes(session: Session) -> None:
    if (
        session.info.pop(_UNANNOUNCED, False)
        and session.bind is not None
        and session.bind.dialect.name == "postgresql"
    ):
        session.execute(_NOTIFY)


@event.listens_for(Session, "after_commit")
def _wake_this_process(session: Session) -> None:
    if session.info.pop(_CREATED, False):
        with _lock:
            wakers = list(_wakers)
        for wake in wakers:
            wake()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CREATED, None)
    session.info.pop(_UNANNOUNCED, None)


async def listen(conninfo: str, wake: Callable[[], None], *, retry_s: float = 1.0) -> None:
    """LISTEN for work created by other processes until cancelled; reconnects after a failure."""
    import psycopg

    while True:
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
                await connection.execute(f"LISTEN {CHANNEL}")
                wake()  # anything committed while we were not listening
                async for _notice in connection.notifies():
                    wake()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("jobs_listen_failed", error=str(error), retry_s=retry_s)
            await asyncio.sleep(retry_s)
