"""SQL for the carrier-bridge replay store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.transport.models import BridgeRequest


async def record_request(session: AsyncSession, webhook_id: str, signed_at: datetime, now: datetime) -> bool:
    """Remember a request id in the caller's transaction; False if it is already remembered.

    The primary key decides (INSERT ... ON CONFLICT DO NOTHING, in both dialects), so two processes
    receiving the same request at once cannot both apply it: the second waits for the first's commit
    and then inserts nothing. No savepoint: on SQLite a released outer savepoint would commit.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(BridgeRequest)
        .values(webhook_id=webhook_id, signed_at=signed_at, received_at=now)
        .on_conflict_do_nothing(index_elements=["webhook_id"])
        .returning(BridgeRequest.webhook_id)
    )
    # RETURNING, not rowcount: psycopg reports a row for a skipped insert.
    return (await session.scalar(statement)) is not None


async def prune_requests(session: AsyncSession, signed_before: datetime) -> None:
    await session.execute(delete(BridgeRequest).where(BridgeRequest.signed_at < signed_before))
