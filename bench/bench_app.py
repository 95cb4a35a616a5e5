"""The app the benchmarks serve: phoneline itself plus baseline routes (same stack, no work).

Served as `uvicorn bench_app:create_bench_app --factory --app-dir bench`; the product package knows
nothing of it.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request
from starlette.responses import Response

from phoneline.app import create_app
from phoneline.settings import Settings
from round_trips import ROUND_TRIPS_PATH, install_round_trips
from send_baseline import SEND_BASELINE_PATH, install_send_baseline

BENCH_BODY_PATH = "/bench/ready-bytes"


def install_bench_routes(app: FastAPI) -> None:
    body_holder: dict[str, bytes] = {"body": b"{}"}

    @app.put(BENCH_BODY_PATH, include_in_schema=False)
    async def set_body(request: Request) -> Response:
        # Kept byte for byte (no parse and re-dump), so the baseline serves exactly the bytes under test.
        body_holder["body"] = await request.body()
        return Response(status_code=204)

    @app.get(BENCH_BODY_PATH, include_in_schema=False)
    async def ready_bytes() -> Response:
        # The framework's ceiling: a route that returns pre-serialized bytes, nothing else.
        return Response(body_holder["body"], media_type="application/json")

    install_send_baseline(app)
    if os.environ.get("PHONELINE_BENCH_ROUND_TRIPS") == "1":
        # Off unless asked: counting costs every statement a callback.
        install_round_trips(app)

    # Match these first: a baseline must not pay for scanning every other route (the dashboard's
    # included routers) before it is found, when the routes it is compared with are matched early.
    routes = app.router.routes
    first = {BENCH_BODY_PATH, SEND_BASELINE_PATH, ROUND_TRIPS_PATH}
    baseline = [route for route in routes if getattr(route, "path", None) in first]
    for route in baseline:
        routes.remove(route)
    routes[0:0] = baseline


def create_bench_app() -> FastAPI:
    """uvicorn factory: phoneline from the environment, with the baselines matched first."""
    app = create_app(Settings())
    install_bench_routes(app)
    return app
