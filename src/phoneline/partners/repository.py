"""SQL for partners and API keys."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.errors import InvalidParameter
from phoneline.paging import Page, PageRequest, keyset_page
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


async def page_of_partners(session: AsyncSession, text: str, request: PageRequest) -> Page[Partner]:
    """Partners by name (then id), narrowed to names containing `text` (any case) or an id starting with it."""
    query = select(Partner)
    if text:
        lowered = text.lower()
        query = query.where(
            or_(
                func.lower(Partner.name).contains(lowered, autoescape=True),
                func.lower(cast(Partner.id, String)).startswith(lowered.replace("-", ""), autoescape=True),
                func.lower(cast(Partner.id, String)).startswith(lowered, autoescape=True),
            )
        )
    return await keyset_page(
        session, query, [Partner.name, Partner.id], request,
        key_of=lambda partner: [partner.name, partner.id],
        decode=lambda values: [values[0], _uuid(values[1])],
    )  # fmt: skip


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidParameter("That page link is not valid; start again from the first page.") from None


async def partners_by_id(session: AsyncSession, partner_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Partner]:
    if not partner_ids:
        return {}
    found = await session.scalars(select(Partner).where(Partner.id.in_(set(partner_ids))))
    return {partner.id: partner for partner in found}
