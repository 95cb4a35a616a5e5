"""Dashboard sessions: a signed, HttpOnly, SameSite cookie; CSRF tokens; one-shot flash messages.

The cookie holds who is logged in (partner id and key id, or "operator"), never the API key or the
admin token. Every page re-checks that the key still works, so revoking a key logs its sessions out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Any

from fastapi import Request

from phoneline.api.deps import get_runtime
from phoneline.partners.repository import find_key_by_hash, get_key
from phoneline.partners.service import hash_key
from phoneline.principal import INVALID_KEY, Principal
from phoneline.settings import Settings

SESSION_COOKIE = "phoneline_session"
SESSION_MAX_AGE_S = 12 * 3600


def session_secret(settings: Settings) -> str:
    if settings.secret_key is None:
        # Sessions then last as long as the process; the README asks for PHONELINE_SECRET_KEY in production.
        return secrets.token_urlsafe(32)
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"phoneline dashboard sessions", hashlib.sha256).hexdigest()


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


async def principal_for_key(request: Request, api_key: str) -> Principal | None:
    runtime = get_runtime(request)
    digest = hash_key(api_key.strip())
    async with runtime.sessions() as session:
        key = await find_key_by_hash(session, digest)
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, digest):
        return None
    return Principal(partner_id=key.partner_id, api_key_id=key.id, api_key_prefix=key.prefix)


async def partner_session(request: Request) -> Principal:
    """Dependency for partner pages."""
    data = request.session.get("partner")
    if not isinstance(data, dict):
        raise LoginRequired("/dashboard/login")
    runtime = get_runtime(request)

    async def load() -> Principal:
        async with runtime.sessions() as session:
            key = await get_key(session, uuid.UUID(data["key_id"]))
        if key is not None and key.revoked_at is None:
            return Principal(partner_id=key.partner_id, api_key_id=key.id, api_key_prefix=key.prefix)
        return INVALID_KEY

    cached = await runtime.api_keys.get(f"session:{data['key_id']}", load)
    if cached is INVALID_KEY:
        request.session.pop("partner", None)
        raise LoginRequired("/dashboard/login")
    return cached


async def operator_session(request: Request) -> str:
    """Dependency for console pages."""
    if request.session.get("operator") is not True:
        raise LoginRequired("/console/login")
    if get_runtime(request).settings.admin_token is None:
        request.session.pop("operator", None)
        raise LoginRequired("/console/login")
    return "operator:console"
