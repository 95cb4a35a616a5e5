"""Dashboard sessions: log-in, log-out, the page guards; CSRF tokens; one-shot flash messages.

Who is logged in lives in the database (logins/): the cookie carries only the session's random token
beside the CSRF token and a flash message, never the API key or the admin token. Every page checks the
record, so log-out, either time limit, a revoked key or a new admin token ends the session at once, in
every process. The cookie itself is signed with one key derived from configuration (`session_secret`), so
every `phoneline serve --workers N` process reads every other's cookies.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from fastapi import Request

from phoneline.crypto import secret_keys
from phoneline.dependencies import get_runtime
from phoneline.logins import service as logins
from phoneline.logins.models import SessionKind
from phoneline.partners.repository import find_key_by_hash
from phoneline.partners.service import VISIBLE_PREFIX_LENGTH, hash_key
from phoneline.principal import Principal
from phoneline.settings import Settings

SESSION_COOKIE = "phoneline_session"
OPERATOR_ACCOUNT = "operator"


def session_secret(settings: Settings) -> str:
    """The cookie signing key: the same in every process started with the same configuration.

    The signature only keeps the cookie's CSRF token and flash message from being tampered with; it does
    not decide who is logged in (the random token must name a live session record). So the key may come
    from the database URL alone when PHONELINE_SECRET_KEY is unset. The admin token is left out on
    purpose: changing it must end operator sessions (their records say so), not partners' too.
    """
    material = [*secret_keys(settings), settings.database_url]
    return hmac.new(
        "\x00".join(material).encode(), b"phoneline dashboard session cookies", hashlib.sha256
    ).hexdigest()


class LoginRequired(Exception):
    """Raised by page dependencies; rendered as a redirect to the right login page."""

    def __init__(self, login_path: str) -> None:
        self.login_path = login_path


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def csrf_ok(request: Request, submitted: str | None) -> bool:
    expected = request.session.get("csrf")
    return bool(expected and submitted and hmac.compare_digest(str(expected), submitted))


def flash(request: Request, text: str, kind: str = "ok") -> None:
    request.session["flash"] = {"kind": kind, "text": text}


def pop_flash(request: Request) -> dict[str, Any] | None:
    value = request.session.pop("flash", None)
    return value if isinstance(value, dict) else None


# --- log-in throttle -------------------------------------------------------------------------------


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def partner_account(api_key: str) -> str:
    """The account a partner log-in is for: the key's visible prefix (what an operator names it by)."""
    return api_key.strip()[:VISIBLE_PREFIX_LENGTH]


async def login_retry_after(request: Request, account: str) -> int | None:
    """Seconds this client must wait before another log-in attempt for the account, or None."""
    return await get_runtime(request).login_throttle.retry_after(client_address(request), account)


async def login_failed(request: Request, account: str) -> None:
    await get_runtime(request).login_throttle.record_failure(client_address(request), account)


# --- log-in, log-out --------------------------------------------------------------------------------


async def principal_for_key(request: Request, api_key: str) -> Principal | None:
    runtime = get_runtime(request)
    digest = hash_key(api_key.strip())
    async with runtime.sessions() as session:
        key = await find_key_by_hash(session, digest)
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, digest):
        return None
    return Principal(partner_id=key.partner_id, api_key_id=key.id, api_key_prefix=key.prefix)


def _start_cookie(request: Request, token: str) -> None:
    # A fresh cookie on every log-in (new CSRF token too): nothing chosen before log-in survives it.
    request.session.clear()
    request.session["sid"] = token


async def log_in_partner(request: Request, principal: Principal) -> None:
    runtime = get_runtime(request)
    async with runtime.sessions() as session:
        token = await logins.open_partner_session(session, runtime.settings, principal, runtime.clock.now())
        await session.commit()
    _start_cookie(request, token)


async def log_in_operator(request: Request) -> None:
    runtime = get_runtime(request)
    async with runtime.sessions() as session:
        token = await logins.open_operator_session(session, runtime.settings, runtime.clock.now())
        await session.commit()
    _start_cookie(request, token)


async def log_out(request: Request) -> None:
    token = request.session.get("sid")
    if isinstance(token, str):
        runtime = get_runtime(request)
        async with runtime.sessions() as session:
            await logins.end_session(session, token, runtime.clock.now())
            await session.commit()
    request.session.clear()


async def _live_session(request: Request, kind: SessionKind, login_path: str) -> logins.OpenSession:
    token = request.session.get("sid")
    if not isinstance(token, str):
        raise LoginRequired(login_path)
    runtime = get_runtime(request)
    async with runtime.sessions() as session:
        found = await logins.resolve(session, runtime.settings, token, kind, runtime.clock.now())
        await session.commit()
    if found is None:
        # The dead token may stay in the cookie: it opens nothing, and the next log-in replaces it.
        raise LoginRequired(login_path)
    return found


async def partner_session(request: Request) -> Principal:
    """Dependency for partner pages."""
    found = await _live_session(request, SessionKind.PARTNER, "/dashboard/login")
    assert found.principal is not None
    return found.principal


async def operator_session(request: Request) -> str:
    """Dependency for console pages."""
    await _live_session(request, SessionKind.OPERATOR, "/console/login")
    return "operator:console"
