"""Blocked handles (linq-python `blocked_handles`): a send guard like opt-out, and an inbound filter.

A handle is an E.164 number, an email address (lowercased), an SMS short code (3-8 digits) or an
alphanumeric sender ID. A direct send to a blocked handle is 403 / 2026 before anything is stored; a
group send is refused only when every member is blocked (Linq: group sends that include unblocked
members go through). Inbound messages from a blocked handle are dropped: no chat, no message, no webhook.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.chats import repository, schemas
from phoneline.chats.handles import normalize_handle
from phoneline.chats.models import BlockedHandle
from phoneline.clock import Clock
from phoneline.db.base import as_utc
from phoneline.errors import InvalidParameter, NotFound, RecipientBlocked

MAX_BLOCKED_HANDLES = 10_000
_SHORT_CODE = re.compile(r"^[0-9]{3,8}$")
_SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ._-]{1,11}$")


def normalize_blockable(raw: str) -> str:
    text = (raw or "").strip()
    if _SHORT_CODE.match(text):
        return text
    if "@" in text or text.startswith("+"):
        return normalize_handle(text)
    if _SENDER_ID.match(text):
        return text
    raise InvalidParameter(
        f"'{raw}' is not a handle: give an E.164 number, an email, a short code (3-8 digits) or a sender ID."
    )


def _entry(row: BlockedHandle) -> schemas.BlockedHandleOut:
    return schemas.BlockedHandleOut(blocked_at=as_utc(row.blocked_at), handle=row.handle, reason=row.reason)


async def list_blocked(session: AsyncSession, partner_id: uuid.UUID) -> schemas.BlockedHandleListOut:
    rows = await repository.blocked_handles(session, partner_id, MAX_BLOCKED_HANDLES)
    return schemas.BlockedHandleListOut(blocked_handles=[_entry(row) for row in rows])


async def block(
    session: AsyncSession, partner_id: uuid.UUID, body: schemas.BlockIn, clock: Clock
) -> schemas.BlockedHandleBlockOut:
    """Idempotent: blocking a blocked handle returns the existing entry unchanged."""
    handle = normalize_blockable(body.handle)
    existing = await repository.blocked_handle(session, partner_id, handle)
    if existing is not None:
        return schemas.BlockedHandleBlockOut(blocked_handle=_entry(existing))
    if await repository.count_blocked_handles(session, partner_id) >= MAX_BLOCKED_HANDLES:
        raise InvalidParameter(
            f"A blocklist holds at most {MAX_BLOCKED_HANDLES} handles; unblock some first."
        )
    row = BlockedHandle(
        id=uuid.uuid4(), partner_id=partner_id, handle=handle, reason=body.reason, blocked_at=clock.now()
    )
    session.add(row)
    return schemas.BlockedHandleBlockOut(blocked_handle=_entry(row))


async def unblock(session: AsyncSession, partner_id: uuid.UUID, body: schemas.UnblockIn) -> None:
    handle = normalize_blockable(body.handle)
    if not await repository.delete_blocked_handle(session, partner_id, handle):
        raise NotFound(f"{handle} is not on your blocklist.")


async def require_not_blocked(
    session: AsyncSession, partner_id: uuid.UUID, recipients: Sequence[str]
) -> None:
    """The send guard (403 / 2026): a direct send to a blocked handle, or a group of blocked handles only."""
    refuse_if_blocked(await repository.blocked_among(session, partner_id, recipients), recipients)


def refuse_if_blocked(blocked: Collection[str], recipients: Sequence[str]) -> None:
    """The guard's rule, for `blocked` read however (with the chat, for a one-to-one send)."""
    if blocked and len(set(blocked)) == len(set(recipients)):
        raise RecipientBlocked(f"{sorted(blocked)[0]} is on your blocklist; unblock it to send.")


async def is_blocked(session: AsyncSession, partner_id: uuid.UUID, handle: str) -> bool:
    return bool(await repository.blocked_among(session, partner_id, [handle]))
