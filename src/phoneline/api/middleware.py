"""Pure-ASGI request context: trace id in and out, and the last line of defence for errors.

Pure ASGI on purpose: BaseHTTPMiddleware costs a task and a stream per request on the hot path.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phoneline.errors import InternalError, error_response_parts
from phoneline.logging import get_logger
from phoneline.metrics import HTTP_LATENCY, HTTP_REQUESTS
from phoneline.tracing import set_trace_id

log = get_logger("phoneline.http")


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


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, doc_base: str = "") -> None:
        self.app = app
        self.doc_base = doc_base

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
                message["headers"] = [*message.get("headers", []), trace_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        except Exception:
            # No stack trace ever reaches a client; the log has it, under the same trace id.
            log.exception("unhandled_error", method=scope.get("method"), path=scope.get("path"))
            if started:
                raise
            body, headers = error_response_parts(
                InternalError("Internal error; quote the trace_id when you contact support."),
                doc_base=self.doc_base,
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        trace_header,
                        *[(k.lower().encode(), v.encode()) for k, v in headers.items()],
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            counter, latency = _series(scope.get("method", ""), route_template(scope), status)
            counter.inc()
            latency.observe(time.perf_counter() - began)
