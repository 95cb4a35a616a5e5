"""Local sinks for the demo: a webhook receiver and a Slack incoming-webhook stand-in.

They keep the last few hundred requests in memory so the demo shows deliveries and alerts without
anything leaving the machine. Mounted only when PHONELINE_DEMO=true.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from phoneline.dashboard.templating import render

SINK_CAPACITY = 500


@dataclass(frozen=True)
class Received:
    at: datetime
    kind: str
    headers: dict[str, str]
    body: Any


class SinkLog:
    def __init__(self) -> None:
        self.items: deque[Received] = deque(maxlen=SINK_CAPACITY)

    def add(self, kind: str, headers: dict[str, str], raw: bytes) -> None:
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.items.appendleft(Received(datetime.now(UTC), kind, headers, body))


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
        return render(request, "demo/sinks.html", title="Demo sinks", items=list(log.items)[:100])

    return router
