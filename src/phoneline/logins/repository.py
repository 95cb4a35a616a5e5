"""SQL for log-in sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.logins.models import LoginSession
from phoneline.partners.models import ApiKey


async def find_live(
    session: AsyncSession, token_hash: str, *, now: datetime, idle_since: datetime
) -> tuple[LoginSession, ApiKey | None] | None:
    """The session with this token if it is neither revoked nor past either limit, with its API key."""
    query = (
        select(LoginSession, ApiKey)
        .outerjoin(ApiKey, ApiKey.id == LoginSession.api_key_id)
        .where(
            LoginSession.token_hash == token_hash,
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
            LoginSession.last_seen_at > idle_since,
        )
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row is not None else None


async def touch(session: AsyncSession, session_id: uuid.UUID, at: datetime) -> None:
    await session.execute(update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=at))


async def revoke(session: AsyncSession, token_hash: str, at: datetime) -> None:
    query = (
        update(LoginSession)
        .where(LoginSession.token_hash == token_hash, LoginSession.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    await session.execute(query)


async def prune(session: AsyncSession, *, now: datetime, idle_since: datetime) -> None:
    """Forget sessions that can never be used again (revoked, expired or idle too long)."""
    query = delete(LoginSession).where(
        or_(
            LoginSession.revoked_at.is_not(None),
            LoginSession.expires_at <= now,
            LoginSession.last_seen_at <= idle_since,
        )
    )
    await session.execute(query)
