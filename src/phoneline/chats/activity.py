"""Daily activity counters per chat and per line, bumped in the same transaction as the message.

The reputation engine reads these rows instead of scanning messages. Each bump is one upsert per table
(`INSERT ... ON CONFLICT DO UPDATE`, the same statement on SQLite and PostgreSQL), so recording
activity costs two statements whatever the history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.chats.models import ChatActivity, LineActivity


@dataclass(frozen=True)
class Activity:
    """What one event adds to today's counters."""

    outbound: int = 0
    inbound: int = 0
    failed: int = 0
    opt_outs: int = 0
    overrides: int = 0
    new_conversation: bool = False


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


_COUNTERS = ("outbound", "inbound", "failed", "opt_outs", "overrides")


async def record(
    session: AsyncSession,
    *,
    chat_id: uuid.UUID,
    line_id: uuid.UUID,
    partner_id: uuid.UUID,
    at: datetime,
    activity: Activity,
) -> None:
    day = at.date()
    counts = {name: getattr(activity, name) for name in _COUNTERS}

    chat_insert = _insert(session, ChatActivity).values(
        chat_id=chat_id,
        day=day,
        line_id=line_id,
        partner_id=partner_id,
        last_outbound_at=at if activity.outbound else None,
        last_inbound_at=at if activity.inbound else None,
        dirty=True,
        **counts,
    )
    excluded = chat_insert.excluded
    chat_upsert = chat_insert.on_conflict_do_update(
        index_elements=["chat_id", "day"],
        set_={
            **{name: getattr(ChatActivity, name) + getattr(excluded, name) for name in _COUNTERS},
            "last_outbound_at": func.coalesce(excluded.last_outbound_at, ChatActivity.last_outbound_at),
            "last_inbound_at": func.coalesce(excluded.last_inbound_at, ChatActivity.last_inbound_at),
            # Queues the chat (and so its line) for re-scoring: reputation/worker.py.
            "dirty": True,
        },
    ).returning(ChatActivity.outbound)
    outbound_today = await session.scalar(chat_upsert)
    # The chat's first outbound message today makes it one more distinct recipient for the line.
    first_send_today = bool(activity.outbound) and outbound_today == activity.outbound

    line_insert = _insert(session, LineActivity).values(
        line_id=line_id,
        day=day,
        partner_id=partner_id,
        new_conversations=int(activity.new_conversation),
        distinct_recipients=int(first_send_today),
        **counts,
    )
    excluded = line_insert.excluded
    names = (*_COUNTERS, "new_conversations", "distinct_recipients")
    await session.execute(
        line_insert.on_conflict_do_update(
            index_elements=["line_id", "day"],
            set_={name: getattr(LineActivity, name) + getattr(excluded, name) for name in names},
        )
    )
