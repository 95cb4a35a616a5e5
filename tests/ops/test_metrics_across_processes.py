"""`phoneline serve --workers 2` reports one consistent /metrics, whichever process answers the scrape."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.conftest import free_port, subprocess_env, wait_until
from tests.dashboard.test_console_deliveries import metric


def test_serve_with_two_workers_reports_one_consistent_set_of_metrics(test_env: dict[str, str]) -> None:
    port = free_port()
    env = {**subprocess_env(test_env), "PHONELINE_PORT": str(port)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # serve sets up its own
    server = subprocess.Popen(
        [sys.executable, "-m", "phoneline.cli", "serve", "--workers", "2", "--port", str(port), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # the one JSON document, printed before the processes start
        # No keep-alive: every request is a new connection, which either process may accept.
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", limits=httpx.Limits(max_keepalive_connections=0), timeout=10
        ) as client:

            def up() -> bool:
                try:
                    return client.get("/healthz").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(up, timeout=30, what="phoneline serve --workers 2 to accept connections")
            for _ in range(20):
                assert client.get("/api/partner/v3/phone_numbers").status_code == 401

            def refused() -> float:
                scraped = client.get("/metrics").text
                return metric(
                    scraped, "phoneline_http_requests_total", method="GET", route="/api/partner/v3/phone_numbers",
                    status="401",
                )  # fmt: skip

            # Every scrape, from either process, counts the requests both processes served.
            assert [refused() for _ in range(8)] == [20.0] * 8
    finally:
        server.terminate()
        server.wait(timeout=20)
