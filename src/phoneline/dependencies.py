"""FastAPI dependencies: the runtime, a request-scoped session that commits once, the admin guard."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.errors import AccessDenied, Unauthorized
from phoneline.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _runtime_dependency(request: Request) -> Runtime:
    # async on purpose: FastAPI runs a plain `def` dependency in a worker thread, a hand-off that cost
    # the list endpoint more than everything else it does.
    return get_runtime(request)


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The request boundary commits, once, after the route returns and before the response is sent;
    # an exception anywhere rolls everything back.
    async with get_runtime(request).sessions() as session:
        yield session
        await session.commit()


# scope="function": the commit runs before the response goes out, so a failed commit is a 500.
DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]
RuntimeDep = Annotated[Runtime, Depends(_runtime_dependency)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def require_admin(request: Request) -> str:
    expected = get_runtime(request).settings.admin_token
    if expected is None:
        raise AccessDenied("The admin API is disabled; set PHONELINE_ADMIN_TOKEN to enable it.")
    token = bearer_token(request)
    if token is None or not hmac.compare_digest(token.encode(), expected.get_secret_value().encode()):
        raise Unauthorized("Missing or invalid admin token.")
    return "operator:admin-api"


AdminActor = Annotated[str, Depends(require_admin)]
