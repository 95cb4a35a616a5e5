"""FastAPI dependencies: the runtime, a request-scoped session that commits once, the admin guard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.bearer import bearer_of, presents_secret
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
    return bearer_of(request.headers.get("authorization"))


async def require_admin(request: Request) -> str:
    expected = get_runtime(request).settings.admin_token
    if expected is None:
        raise AccessDenied("The admin API is disabled; set PHONELINE_ADMIN_TOKEN to enable it.")
    if not presents_secret(request.headers.get("authorization"), expected):
        raise Unauthorized("Missing or invalid admin token.")
    return "operator:admin-api"


AdminActor = Annotated[str, Depends(require_admin)]
