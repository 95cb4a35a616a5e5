"""Pure-ASGI request handling around every route: trace id in and out, one access-log line, security
headers, request limits, and the last line of defence for errors.

Pure ASGI on purpose: BaseHTTPMiddleware costs a task and a stream per request on the hot path.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phoneline.errors import (
    ApiError,
    HeadersTooLarge,
    InternalError,
    InvalidParameter,
    PayloadTooLarge,
    error_response_parts,
)
from phoneline.logging import get_logger
from phoneline.metrics import HTTP_LATENCY, HTTP_REQUESTS
from phoneline.principal import PARTNER_ID_SCOPE_KEY
from phoneline.tracing import set_trace_id

log = get_logger("phoneline.http")
access_log = get_logger("phoneline.access")

# HTML only: no script but our own files, nothing framed, nothing loaded from another host.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HTML_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
_EVERY_RESPONSE = [(b"x-content-type-options", b"nosniff")]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _series(method: str, template: str, status: int) -> tuple[Any, Any]:
    # prometheus_client's labels() costs more than the rest of the bookkeeping; reuse the children.
    key = (method, template, status)
    found = _SERIES.get(key)
    if found is None:
        found = _SERIES[key] = (
            HTTP_REQUESTS.labels(method, template, str(status)),
            HTTP_LATENCY.labels(method, template),
        )
    return found


def route_template(scope: Scope) -> str:
    """The matched route with its parameters put back (`/v3/chats/{chat_id}`): bounded label cardinality."""
    if scope.get("route") is None:
        return "unmatched"
    path: str = scope.get("path", "")
    for name, value in (scope.get("path_params") or {}).items():
        path = path.replace(str(value), "{" + name + "}", 1)
    return path


async def send_error(send: Send, error: ApiError, doc_base: str, *extra: tuple[bytes, bytes]) -> None:
    """The Linq envelope as a raw ASGI response, for refusals made before any route runs."""
    body, headers = error_response_parts(error, doc_base=doc_base)
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
                *[(k.lower().encode(), v.encode()) for k, v in headers.items()],
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Outermost: every response, refusals included, carries the trace id and gets one access-log line."""

    def __init__(self, app: ASGIApp, doc_base: str = "", https: bool = False) -> None:
        self.app = app
        self.doc_base = doc_base
        # Browsers honour HSTS only over https, and it must never be sent by a plain-http deployment.
        self.every_response = [*_EVERY_RESPONSE, _HSTS] if https else _EVERY_RESPONSE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        trace_id = set_trace_id(incoming)
        trace_header = (b"x-request-id", trace_id.encode())
        started = False
        status = 500
        began = time.perf_counter()

        async def send_with_trace(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = [*message.get("headers", []), trace_header, *self.every_response]
                if _is_html(headers):
                    headers.extend(_HTML_HEADERS)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        except Exception:
            # No stack trace ever reaches a client; the log has it, under the same trace id.
            log.exception("unhandled_error", method=scope.get("method"), path=scope.get("path"))
            if started:
                raise
            await send_error(
                send,
                InternalError("Internal error; quote the trace_id when you contact support."),
                self.doc_base,
                trace_header,
                *self.every_response,
            )
        finally:
            elapsed = time.perf_counter() - began
            method, template = scope.get("method", ""), route_template(scope)
            counter, latency = _series(method, template, status)
            counter.inc()
            latency.observe(elapsed)
            # The trace id is added by the logging processors (phoneline/logging.py).
            access_log.info(
                "request",
                method=method,
                route=template,
                status=status,
                latency_ms=round(elapsed * 1000, 3),
                partner_id=scope.get(PARTNER_ID_SCOPE_KEY),
            )


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.startswith(b"text/html")
    return False


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes its limit. An HTTPException because FastAPI
    turns any other error raised while it reads a body into a 400; the handlers render it as the
    413 envelope like every HTTPException (api/handlers.py)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _body_limit_message(limit))


def _body_limit_message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


class RequestLimitsMiddleware:
    """Limits checked before anything is parsed or authenticated.

    Header bytes (request line included) above `max_header_bytes` are 431. A body is counted as it
    arrives: a declared Content-Length above the limit is 413 at once, unread; a body streamed past it
    stops being read at the first chunk over. `body_limits` gives path prefixes their own limit
    (attachment uploads). Starlette's own limiter answers in plain text, not the Linq envelope, so
    this one stays. A NUL in the path or query string (no database here can store it) is 400.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_header_bytes: int,
        doc_base: str = "",
        body_limits: Sequence[tuple[str, int]] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.doc_base = doc_base
        self.body_limits = tuple(body_limits)

    def _body_limit(self, path: str) -> int:
        for prefix, limit in self.body_limits:
            if path.startswith(prefix):
                return limit
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        size = len(raw_path) + len(query)
        declared: int | None = None
        for name, value in scope["headers"]:
            size += len(name) + len(value) + 4
            if name == b"content-length":
                declared = int(value) if value.isdigit() else None
        if size > self.max_header_bytes:
            await send_error(
                send,
                HeadersTooLarge(
                    f"The request line and headers are larger than {self.max_header_bytes} bytes."
                ),
                self.doc_base,
            )
            return
        if b"%00" in raw_path or b"%00" in query:
            await send_error(send, InvalidParameter("The URL contains a NUL character."), self.doc_base)
            return
        limit = self._body_limit(scope["path"])
        if declared is not None and declared > limit:
            error = PayloadTooLarge(_body_limit_message(limit))
            await send_error(send, error, self.doc_base, (b"connection", b"close"))
            return
        received = 0
        refused = started = False

        async def receive_limited() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise BodyTooLarge(limit)
            return message

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if refused:
                    # Else the server would read and discard the rest of the body to keep the connection.
                    message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        try:
            await self.app(scope, receive_limited, send_tracked)
        except BodyTooLarge:
            # Read outside any route's error handling: answered here.
            if started:
                raise
            error = PayloadTooLarge(_body_limit_message(limit))
            await send_error(send, error, self.doc_base, (b"connection", b"close"))
