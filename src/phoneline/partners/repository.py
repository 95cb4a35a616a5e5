"""SQL for partners and API keys."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.partners.models import ApiKey, Partner


async def get_partner(session: AsyncSession, partner_id: uuid.UUID) -> Partner | None:
    return await session.get(Partner, partner_id)


async def list_partners(session: AsyncSession) -> Sequence[Partner]:
    return (await session.scalars(select(Partner).order_by(Partner.created_at, Partner.name))).all()


async def find_key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    # One indexed lookup on the unique hash column; never a scan.
    return await session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


async def find_key(session: AsyncSession, prefix_or_id: str) -> ApiKey | None:
    clauses = [ApiKey.prefix == prefix_or_id]
    with contextlib.suppress(ValueError):
        clauses.append(ApiKey.id == uuid.UUID(prefix_or_id))
    return await session.scalar(select(ApiKey).where(or_(*clauses)))


async def list_keys(session: AsyncSession, partner_id: uuid.UUID) -> Sequence[ApiKey]:
    query = select(ApiKey).where(ApiKey.partner_id == partner_id).order_by(ApiKey.created_at)
    return (await session.scalars(query)).all()


async def get_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def partner_pacing_mode(session: AsyncSession, partner_id: uuid.UUID) -> str:
    return str(await session.scalar(select(Partner.pacing_mode).where(Partner.id == partner_id)) or "advise")
