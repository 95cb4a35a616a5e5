"""The rules for dashboard and console sessions: opened on log-in, ended by log-out, by either limit
(PHONELINE_SESSION_IDLE_S, PHONELINE_SESSION_MAX_S), by revoking the API key a partner logged in with,
or by a change of PHONELINE_ADMIN_TOKEN for operator sessions. Never commits."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.base import as_utc
from phoneline.logins import repository
from phoneline.logins.models import LoginSession, SessionKind
from phoneline.principal import Principal
from phoneline.settings import Settings

# last_seen_at is written at most this often per session, so page views do not each cost a write; the
# idle limit is therefore exact to within this much.
TOUCH_EVERY_S = 30.0


def _digest(token: str) -> str:
    # Tokens carry 256 bits of randomness: a fast hash is enough, nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def admin_token_fingerprint(settings: Settings) -> str | None:
    """What an operator session remembers of the admin token it was opened with (never the token)."""
    if settings.admin_token is None:
        return None
    material = b"phoneline console session\x00" + settings.admin_token.get_secret_value().encode()
    return hashlib.sha256(material).hexdigest()


@dataclass(frozen=True)
class OpenSession:
    """A live session as a page sees it."""

    id: uuid.UUID
    kind: SessionKind
    principal: Principal | None


def _idle_since(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(seconds=settings.session_idle_s)


async def _open(session: AsyncSession, settings: Settings, now: datetime, row: LoginSession) -> str:
    await repository.prune(session, now=now, idle_since=_idle_since(settings, now))
    token = secrets.token_urlsafe(32)
    row.token_hash = _digest(token)
    row.created_at = row.last_seen_at = now
    row.expires_at = now + timedelta(seconds=settings.session_max_s)
    session.add(row)
    await session.flush()
    return token


async def open_partner_session(
    session: AsyncSession, settings: Settings, principal: Principal, now: datetime
) -> str:
    """Start a partner session for the key the partner logged in with; returns the cookie's token."""
    row = LoginSession(
        kind=SessionKind.PARTNER.value, partner_id=principal.partner_id, api_key_id=principal.api_key_id
    )
    return await _open(session, settings, now, row)


async def open_operator_session(session: AsyncSession, settings: Settings, now: datetime) -> str:
    row = LoginSession(
        kind=SessionKind.OPERATOR.value, admin_token_fingerprint=admin_token_fingerprint(settings)
    )
    return await _open(session, settings, now, row)


async def resolve(
    session: AsyncSession, settings: Settings, token: str, kind: SessionKind, now: datetime
) -> OpenSession | None:
    """The live session of this kind for the token, or None; refreshes its idle time."""
    found = await repository.find_live(
        session, _digest(token), now=now, idle_since=_idle_since(settings, now)
    )
    if found is None:
        return None
    row, key = found
    if row.kind != kind.value:
        return None
    principal = None
    if kind is SessionKind.PARTNER:
        if key is None or key.revoked_at is not None or key.partner_id != row.partner_id:
            return None
        principal = Principal(partner_id=key.partner_id, api_key_id=key.id, api_key_prefix=key.prefix)
    else:
        expected = admin_token_fingerprint(settings)
        if expected is None or row.admin_token_fingerprint != expected:
            return None
    if (now - as_utc(row.last_seen_at)).total_seconds() >= TOUCH_EVERY_S:
        await repository.touch(session, row.id, now)
    return OpenSession(id=row.id, kind=kind, principal=principal)


async def end_session(session: AsyncSession, token: str, now: datetime) -> None:
    """Log-out: the session is revoked for every process at once."""
    await repository.revoke(session, _digest(token), now)
