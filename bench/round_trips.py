"""Database round trips per request, counted in the benchmark app (bench/bench_app.py only).

Counted at the engine: every statement (`before_cursor_execute`), every transaction's BEGIN and its
COMMIT or ROLLBACK, and the liveness ping of a pooled connection when the pool pings on checkout.
Work a request causes is told apart from background work (job runner, delivery reports) by a context
variable set around the request, so `GET /bench/round-trips` reports what requests alone cost.
"""

from __future__ import annotations

import contextvars
from collections import Counter
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

ROUND_TRIPS_PATH = "/bench/round-trips"
_in_request: contextvars.ContextVar[bool] = contextvars.ContextVar("bench_in_request", default=False)


class RoundTrips:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def count(self, kind: str) -> None:
        self.counts[("request " if _in_request.get() else "background ") + kind] += 1

    def watch(self, engine: AsyncEngine) -> None:
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", lambda *_a: self.count("statement"))
        event.listen(sync, "begin", lambda *_a: self.count("begin"))
        event.listen(sync, "commit", lambda *_a: self.count("commit"))
        event.listen(sync, "rollback", lambda *_a: self.count("rollback"))
        if sync.pool._pre_ping:  # a ping is a round trip per checkout
            event.listen(sync.pool, "checkout", lambda *_a: self.count("ping"))


class _MarkRequests:
    def __init__(self, app: ASGIApp, trips: RoundTrips) -> None:
        self.app = app
        self.trips = trips
        self.watching = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.watching and scope["type"] == "http":
            # The engine exists once the lifespan has started, i.e. by the first request.
            self.trips.watch(scope["app"].state.runtime.engine)
            self.watching = True
        if scope["type"] != "http" or scope["path"] == ROUND_TRIPS_PATH:
            await self.app(scope, receive, send)
            return
        token = _in_request.set(True)
        try:
            await self.app(scope, receive, send)
        finally:
            _in_request.reset(token)


def install_round_trips(app: FastAPI) -> None:
    trips = RoundTrips()
    app.add_middleware(_MarkRequests, trips=trips)

    @app.get(ROUND_TRIPS_PATH, include_in_schema=False)
    async def round_trips(reset: bool = False) -> JSONResponse:
        counts: dict[str, Any] = dict(trips.counts)
        if reset:
            trips.counts.clear()
        return JSONResponse(counts)
