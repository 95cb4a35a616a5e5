"""Exception handlers: every error, ours or the framework's, leaves as the Linq envelope."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from phoneline.api.unsupported import unsupported_reason
from phoneline.errors import (
    ApiError,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    error_response_parts,
)
from phoneline.inputs import translate_validation_error
from phoneline.metrics import API_ERRORS


def _render(error: ApiError, doc_base: str) -> Response:
    API_ERRORS.labels(str(error.code), str(error.status)).inc()
    body, headers = error_response_parts(error, doc_base=doc_base)
    return Response(body, status_code=error.status, headers=headers, media_type="application/json")


ROUTABLE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(routes: list[BaseRoute], scope: dict[str, Any]) -> list[str]:
    """Every method some route serves on this path (Starlette's 405 names only the first route's).

    Asked of the router as a request would be, so included routers are searched too."""
    return [
        method
        for method in ROUTABLE_METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    ]


def install_error_handlers(app: FastAPI, doc_base: str) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        if isinstance(exc, MethodNotAllowed):
            # A route that exists only to refuse (no create on phone numbers) is not an allowed method.
            exc.headers["Allow"] = ", ".join(
                m
                for m in allowed_methods(request.app.router.routes, dict(request.scope))
                if m != request.method
            )
        return _render(exc, doc_base)

    async def on_validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _render(translate_validation_error(list(exc.errors())), doc_base)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error: ApiError
        if exc.status_code == 404:
            reason = unsupported_reason(request.method, request.url.path)
            error = NotFound(reason or f"No such endpoint: {request.method} {request.url.path}.")
        elif exc.status_code == 405:
            allowed = [
                m
                for m in allowed_methods(request.app.router.routes, dict(request.scope))
                if m != request.method
            ]
            error = MethodNotAllowed(
                f"{request.method} is not allowed on {request.url.path}; use {', '.join(allowed)}."
            )
            error.headers.update(exc.headers or {})
            error.headers["Allow"] = ", ".join(allowed)
        elif exc.status_code == 401:
            error = Unauthorized()
        else:
            error = ApiError(
                str(exc.detail), status=exc.status_code, code=1003 if exc.status_code < 500 else 3006
            )
        return _render(error, doc_base)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
