"""Local sinks for the demo: a webhook receiver, a Slack incoming-webhook and a PagerDuty Events API
stand-in.

They keep the last few hundred requests of each kind in memory so the demo shows deliveries and alerts
without anything leaving the machine: `/demo/sinks` for people, `/demo/sinks.json` for tests and scripts.
Mounted only by `phoneline demo` (install_sinks).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from phoneline.dashboard.templating import render

SINK_CAPACITY = 500


@dataclass(frozen=True)
class Received:
    at: datetime
    kind: str
    headers: dict[str, str]
    body: Any

    def doc(self) -> dict[str, Any]:
        return {"received_at": self.at.isoformat(), "headers": self.headers, "body": self.body}


SINK_KINDS = ("webhook", "slack", "pagerduty")


class SinkLog:
    """The last SINK_CAPACITY requests of each kind, in the order they arrived."""

    def __init__(self) -> None:
        self.by_kind: dict[str, deque[Received]] = {kind: deque(maxlen=SINK_CAPACITY) for kind in SINK_KINDS}

    def add(self, kind: str, headers: dict[str, str], raw: bytes) -> None:
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.by_kind[kind].append(Received(datetime.now(UTC), kind, headers, body))

    @property
    def items(self) -> list[Received]:
        """Every kind together, newest first (the page)."""
        merged = [item for received in self.by_kind.values() for item in received]
        return sorted(merged, key=lambda item: item.at, reverse=True)

    def doc(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "webhooks": [item.doc() for item in self.by_kind["webhook"]],
            "slack": [item.doc() for item in self.by_kind["slack"]],
            "pagerduty": [item.doc() for item in self.by_kind["pagerduty"]],
        }


def sink_router(log: SinkLog) -> APIRouter:
    router = APIRouter(prefix="/demo/sinks", include_in_schema=False)

    @router.post("/webhooks")
    async def webhook_sink(request: Request) -> Response:
        wanted = ("webhook-id", "webhook-timestamp", "x-webhook-event")
        log.add("webhook", {k: v for k, v in request.headers.items() if k in wanted}, await request.body())
        return Response(status_code=204)

    @router.post("/slack")
    async def slack_sink(request: Request) -> Response:
        log.add("slack", {}, await request.body())
        return Response(b"ok", media_type="text/plain")

    @router.post("/pagerduty")
    async def pagerduty_sink(request: Request) -> Response:
        log.add("pagerduty", {}, await request.body())
        return Response(b'{"status":"success"}', status_code=202, media_type="application/json")

    @router.get("", response_class=HTMLResponse)
    async def sink_page(request: Request) -> HTMLResponse:
        counts = {kind: len(received) for kind, received in log.by_kind.items()}
        return render(request, "demo/sinks.html", title="Demo sinks", items=log.items[:200], counts=counts)

    @router.get(".json")
    async def sinks_json() -> JSONResponse:
        """Everything received, by sink, in the order it arrived: what the demo test reads."""
        return JSONResponse(log.doc())

    return router


def install_sinks(app: FastAPI) -> SinkLog:
    """Mount the sinks on a demo server's app (the product app knows nothing of them)."""
    sinks = app.state.demo_sinks = SinkLog()
    app.include_router(sink_router(sinks))
    return sinks
