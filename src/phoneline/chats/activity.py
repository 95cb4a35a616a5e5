"""Daily activity counters per chat and per line, bumped in the same transaction as the message.

The reputation engine reads these rows instead of scanning messages. A bump is one upsert of the chat's
day (`INSERT ... ON CONFLICT DO UPDATE`, the same SQL on SQLite and PostgreSQL); a trigger in the
database (migration 0005) adds the change to the line's day in the same statement, so recording
activity costs one statement whatever the history, and a send does not rewrite the chat row. Each bump
also sets `dirty`, which queues the chat and its line for re-scoring (reputation/tasks.py) at no extra
statement, and clears the row's re-scoring lease owner: a pass that read the counters before this bump
then leaves the row queued. The statement is written once, as text with typed parameters: building it
per call cost more CPU than the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Date, DateTime, Integer, Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Activity:
    """What one event adds to today's counters."""

    outbound: int = 0
    inbound: int = 0
    failed: int = 0
    opt_outs: int = 0
    overrides: int = 0
    new_conversation: bool = False


_COUNTERS = ("outbound", "inbound", "failed", "opt_outs", "overrides", "new_conversations")


def _sum(names: tuple[str, ...], table: str) -> str:
    return ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in names)


_CHAT_UPSERT = text(
    f"""
    INSERT INTO chat_activity (chat_id, day, line_id, partner_id, {", ".join(_COUNTERS)},
                               outbound_since_inbound, last_outbound_at, last_inbound_at, dirty)
    VALUES (:chat_id, :day, :line_id, :partner_id, {", ".join(":" + name for name in _COUNTERS)},
            :outbound, :last_outbound_at, :last_inbound_at, TRUE)
    ON CONFLICT (chat_id, day) DO UPDATE SET {_sum(_COUNTERS, "chat_activity")},
        dirty = TRUE, rescore_owner = NULL,
        outbound_since_inbound = CASE WHEN excluded.inbound > 0 THEN 0
            ELSE chat_activity.outbound_since_inbound + excluded.outbound END,
        last_outbound_at = COALESCE(excluded.last_outbound_at, chat_activity.last_outbound_at),
        last_inbound_at = COALESCE(excluded.last_inbound_at, chat_activity.last_inbound_at)
    """
).bindparams(
    bindparam("chat_id", type_=Uuid()),
    bindparam("line_id", type_=Uuid()),
    bindparam("partner_id", type_=Uuid()),
    bindparam("day", type_=Date()),
    bindparam("last_outbound_at", type_=DateTime(timezone=True)),
    bindparam("last_inbound_at", type_=DateTime(timezone=True)),
    *(bindparam(name, type_=Integer()) for name in _COUNTERS),
)


async def record(
    session: AsyncSession,
    *,
    chat_id: uuid.UUID,
    line_id: uuid.UUID,
    partner_id: uuid.UUID,
    at: datetime,
    activity: Activity,
) -> None:
    await session.execute(
        _CHAT_UPSERT,
        {
            "chat_id": chat_id,
            "line_id": line_id,
            "partner_id": partner_id,
            "day": at.date(),
            "outbound": activity.outbound,
            "inbound": activity.inbound,
            "failed": activity.failed,
            "opt_outs": activity.opt_outs,
            "overrides": activity.overrides,
            "new_conversations": int(activity.new_conversation),
            "last_outbound_at": at if activity.outbound else None,
            "last_inbound_at": at if activity.inbound else None,
        },
    )
