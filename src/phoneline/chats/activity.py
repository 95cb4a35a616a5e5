"""Daily activity counters per chat and per line, bumped in the same transaction as the message.

The reputation engine reads these rows instead of scanning messages. Each bump is one upsert per table
(`INSERT ... ON CONFLICT DO UPDATE`, the same SQL on SQLite and PostgreSQL), so recording activity costs
two statements whatever the history, and a send does not rewrite the chat row. Each bump also sets
`dirty`, which queues the chat and its line for re-scoring (reputation/worker.py) at no extra statement.
The statements are written once, as text with typed parameters: building them per call cost more CPU
than the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Date, DateTime, Integer, Uuid, bindparam, text
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


_COUNTERS = ("outbound", "inbound", "failed", "opt_outs", "overrides")
_TYPES: list[BindParameter[Any]] = [
    bindparam("chat_id", type_=Uuid()),
    bindparam("line_id", type_=Uuid()),
    bindparam("partner_id", type_=Uuid()),
    bindparam("day", type_=Date()),
    bindparam("last_outbound_at", type_=DateTime(timezone=True)),
    bindparam("last_inbound_at", type_=DateTime(timezone=True)),
    *(bindparam(name, type_=Integer()) for name in (*_COUNTERS, "new_conversations", "distinct_recipients")),
]


def _sum(names: tuple[str, ...], table: str) -> str:
    return ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in names)


_CHAT_UPSERT = text(
    f"""
    INSERT INTO chat_activity (chat_id, day, line_id, partner_id, {", ".join(_COUNTERS)},
                               outbound_since_inbound, last_outbound_at, last_inbound_at, dirty)
    VALUES (:chat_id, :day, :line_id, :partner_id, {", ".join(":" + name for name in _COUNTERS)},
            :outbound, :last_outbound_at, :last_inbound_at, TRUE)
    ON CONFLICT (chat_id, day) DO UPDATE SET {_sum(_COUNTERS, "chat_activity")},
        dirty = TRUE,
        outbound_since_inbound = CASE WHEN excluded.inbound > 0 THEN 0
            ELSE chat_activity.outbound_since_inbound + excluded.outbound END,
        last_outbound_at = COALESCE(excluded.last_outbound_at, chat_activity.last_outbound_at),
        last_inbound_at = COALESCE(excluded.last_inbound_at, chat_activity.last_inbound_at)
    RETURNING outbound
    """
).bindparams(*(p for p in _TYPES if p.key not in ("new_conversations", "distinct_recipients")))

_LINE_COUNTERS = (*_COUNTERS, "new_conversations", "distinct_recipients")
_LINE_UPSERT = text(
    f"""
    INSERT INTO line_activity (line_id, day, partner_id, {", ".join(_LINE_COUNTERS)})
    VALUES (:line_id, :day, :partner_id, {", ".join(":" + name for name in _LINE_COUNTERS)})
    ON CONFLICT (line_id, day) DO UPDATE SET {_sum(_LINE_COUNTERS, "line_activity")}
    """
).bindparams(*(p for p in _TYPES if p.key not in ("chat_id", "last_outbound_at", "last_inbound_at")))


async def record(
    session: AsyncSession,
    *,
    chat_id: uuid.UUID,
    line_id: uuid.UUID,
    partner_id: uuid.UUID,
    at: datetime,
    activity: Activity,
) -> None:
    counts = {name: getattr(activity, name) for name in _COUNTERS}
    keys = {"line_id": line_id, "partner_id": partner_id, "day": at.date()}
    outbound_today = await session.scalar(
        _CHAT_UPSERT,
        {
            **keys,
            **counts,
            "chat_id": chat_id,
            "last_outbound_at": at if activity.outbound else None,
            "last_inbound_at": at if activity.inbound else None,
        },
    )
    # The chat's first outbound message today makes it one more distinct recipient for the line.
    first_send_today = bool(activity.outbound) and outbound_today == activity.outbound
    await session.execute(
        _LINE_UPSERT,
        {
            **keys,
            **counts,
            "new_conversations": int(activity.new_conversation),
            "distinct_recipients": int(first_send_today),
        },
    )
