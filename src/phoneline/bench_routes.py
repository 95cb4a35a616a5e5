"""Baseline routes for `make bench` only (PHONELINE_BENCH_ROUTES=true): same stack, no work."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response

BENCH_BODY_PATH = "/bench/ready-bytes"


def install_bench_routes(app: FastAPI) -> None:
    body_holder: dict[str, bytes] = {"body": b"{}"}

    @app.put(BENCH_BODY_PATH, include_in_schema=False)
    async def set_body(request_body: dict[str, object]) -> Response:
        import json

        body_holder["body"] = json.dumps(request_body, separators=(",", ":")).encode()
        return Response(status_code=204)

    @app.get(BENCH_BODY_PATH, include_in_schema=False)
    async def ready_bytes() -> Response:
        # The framework's ceiling: a route that returns pre-serialized bytes, nothing else.
        return Response(body_holder["body"], media_type="application/json")

    from phoneline.chats.bench_baseline import install_send_baseline

    install_send_baseline(app)
