"""Idempotent sends: the first response to a key is stored and replayed to every repeat.

The key comes from `message.idempotency_key` in the body or the `Idempotency-Key` header, and is scoped
to the partner. Concurrent duplicates both run, but the unique (partner, key) row lets exactly one
commit; the loser rolls back everything it wrote and replays the winner's response.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.chats.models import IdempotentResponse
from phoneline.errors import InvalidParameter


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: bytes


def pick_key(body_key: str | None, header_key: str | None) -> str | None:
    if body_key and header_key and body_key != header_key:
        raise InvalidParameter("`message.idempotency_key` and the Idempotency-Key header differ.")
    key = body_key or header_key
    if key is not None and not 0 < len(key) <= 255:
        raise InvalidParameter("An idempotency key is 1 to 255 characters.")
    return key


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join([method.encode(), path.encode(), body])).hexdigest()


async def find(session: AsyncSession, partner_id: uuid.UUID, key: str, fingerprint: str) -> Replay | None:
    row = await session.scalar(
        select(IdempotentResponse).where(
            IdempotentResponse.partner_id == partner_id, IdempotentResponse.key == key
        )
    )
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise InvalidParameter(
            "This idempotency key was already used for a different request; use a new key."
        )
    return Replay(row.status_code, row.body)


def remember(
    session: AsyncSession, partner_id: uuid.UUID, key: str, fingerprint: str, status_code: int, body: bytes
) -> None:
    session.add(
        IdempotentResponse(
            partner_id=partner_id, key=key, request_hash=fingerprint, status_code=status_code, body=body
        )
    )
