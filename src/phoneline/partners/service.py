"""Rules for partner accounts and API keys. Never commits: the caller's boundary does."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.base import utcnow
from phoneline.errors import InvalidParameter, NotFound
from phoneline.paging import Page, PageRequest
from phoneline.partners import repository
from phoneline.partners.models import ApiKey, Partner

KEY_PREFIX = "pl_"
# The stored prefix: "pl_" plus 9 random characters; enough to name a key, far too little to use it.
VISIBLE_PREFIX_LENGTH = 12


def hash_key(api_key: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    """A key as issued: the plaintext exists only in this object, shown once."""

    key: ApiKey
    plaintext: str


def parse_partner_id(value: str | uuid.UUID) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidParameter(f"'{value}' is not a partner id (expected a UUID).") from None


async def require_partner(session: AsyncSession, partner_id: str | uuid.UUID) -> Partner:
    parsed = parse_partner_id(partner_id)
    partner = await repository.get_partner(session, parsed)
    if partner is None:
        raise NotFound(f"No partner with id {parsed}.")
    return partner


async def issue_key(session: AsyncSession, partner: Partner) -> IssuedKey:
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        partner_id=partner.id, prefix=plaintext[:VISIBLE_PREFIX_LENGTH], key_hash=hash_key(plaintext)
    )
    session.add(key)
    await session.flush()
    return IssuedKey(key=key, plaintext=plaintext)


async def create_partner(session: AsyncSession, name: str) -> tuple[Partner, IssuedKey]:
    name = name.strip()
    if not name:
        raise InvalidParameter("A partner needs a non-empty name.")
    partner = Partner(name=name)
    session.add(partner)
    await session.flush()
    return partner, await issue_key(session, partner)


async def create_key(session: AsyncSession, partner_id: str | uuid.UUID) -> IssuedKey:
    return await issue_key(session, await require_partner(session, partner_id))


async def revoke_key(session: AsyncSession, prefix_or_id: str) -> ApiKey:
    key = await repository.find_key(session, prefix_or_id.strip())
    if key is None:
        raise NotFound(f"No API key with prefix or id '{prefix_or_id}'.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


async def list_partners(session: AsyncSession) -> Sequence[Partner]:
    return await repository.list_partners(session)


async def page_partners(session: AsyncSession, text: str, request: PageRequest) -> Page[Partner]:
    return await repository.page_of_partners(session, text.strip()[:200], request)


async def partners_by_id(session: AsyncSession, partner_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Partner]:
    return await repository.partners_by_id(session, partner_ids)


async def list_keys(session: AsyncSession, partner_id: str | uuid.UUID) -> Sequence[ApiKey]:
    partner = await require_partner(session, partner_id)
    return await repository.list_keys(session, partner.id)
