"""Periodic passes shared by every worker: at most one worker takes each interval's pass.

A pass (the reputation sweep of every line, say) is work any worker may do and none should repeat: two
workers sweeping the same lines each minute is twice the work for the same result. The first worker
whose turn finds the pass due moves its `next_run_at` one interval on, in one statement, and runs it;
the others find it not due. The statement's row decides: on PostgreSQL a second worker's upsert waits
for the first's commit and then sees the new `next_run_at`; SQLite has a single writer.

No lease: a worker that dies during its pass leaves the rest of it to the next interval's. That suits
passes that are idempotent catch-ups, and only those should use this.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.base import as_utc
from phoneline.jobs.models import JobSchedule


async def take_pass(
    session: AsyncSession, name: str, *, now: datetime, every_s: float, worker_id: str
) -> bool:
    """Whether this worker runs the pass `name` now (commit before running it, so others see it taken).

    Due when it never ran or its `next_run_at` has come; taking it sets that to `now + every_s`.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(JobSchedule).values(
        name=name, next_run_at=now + timedelta(seconds=every_s), taken_by=worker_id, taken_at=now
    )
    statement = insert.on_conflict_do_update(
        index_elements=[JobSchedule.name],
        set_={
            "next_run_at": insert.excluded.next_run_at,
            "taken_by": insert.excluded.taken_by,
            "taken_at": insert.excluded.taken_at,
        },
        where=JobSchedule.next_run_at <= now,
    ).returning(JobSchedule.name)
    # RETURNING, not rowcount: the row comes back only when this worker took the pass.
    return (await session.scalar(statement)) is not None


# Passes are a handful of fixed names; the bound keeps a list from growing unnoticed all the same.
PASSES_SHOWN = 100


async def passes(session: AsyncSession) -> list[dict[str, Any]]:
    """Every pass, by name: when it was last taken, by which worker, and when it is next due."""
    rows = await session.scalars(select(JobSchedule).order_by(JobSchedule.name).limit(PASSES_SHOWN))
    return [
        {
            "name": row.name,
            "taken_by": row.taken_by,
            "taken_at": as_utc(row.taken_at).isoformat(),
            "next_run_at": as_utc(row.next_run_at).isoformat(),
        }
        for row in rows
    ]
