"""Through `phoneline serve` itself: one access-log line per request, refusals included, with method,
route template, status, latency, partner id (never the key) and the request's trace id; readable
with PHONELINE_LOG_FORMAT=console; and uvicorn refuses an oversized header unread."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PartnerAccount, free_port, subprocess_env, wait_until

LINE = "+12025550101"


class Served:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()


@pytest.fixture
def serve(test_env: dict[str, str], tmp_path: Path, settings: Any) -> Iterator[Callable[..., Served]]:
    started: list[subprocess.Popen[str]] = []

    def start(**env: str) -> Served:
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "phoneline.cli", "serve", "--port", str(port), "--json"],
            env={**subprocess_env(test_env), "PHONELINE_LOG_LEVEL": "info", **env},
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
            text=True,
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            assert process.poll() is None, log.read_text()
            try:
                return httpx.get(f"{url}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout=30, what="phoneline serve to answer")
        return Served(url, log)

    yield start
    for process in started:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _access_lines(served: Served, trace_id: str) -> list[dict[str, Any]]:
    found = []
    for line in served.lines():
        if trace_id in line:
            document = json.loads(line)
            if document.get("event") == "request":
                found.append(document)
    return found


def test_every_request_gets_one_structured_access_line(
    serve: Callable[..., Served], make_partner: Callable[[str], PartnerAccount], cli: Any
) -> None:
    acme = make_partner("Acme")
    cli("lines", "assign", LINE, "--partner", acme.id)
    served = serve()
    key = {"Authorization": f"Bearer {acme.api_key}"}
    chat_id = str(uuid.uuid4())
    requests = [
        ("GET", "/api/partner/v3/phone_numbers", key, None, 200, "/api/partner/v3/phone_numbers", acme.id),
        ("GET", "/api/partner/v3/phone_numbers", {}, None, 401, "/api/partner/v3/phone_numbers", None),
        (
            "GET",
            f"/api/partner/v3/chats/{chat_id}",
            key,
            None,
            404,
            "/api/partner/v3/chats/{chat_id}",
            acme.id,
        ),
        ("GET", "/api/partner/v3/nothing-here", key, None, 404, "unmatched", None),
        ("POST", "/api/partner/v3/chats", key, b"{not json", 400, "/api/partner/v3/chats", None),
    ]
    for method, path, headers, body, status, route, partner_id in requests:
        trace_id = f"test-{uuid.uuid4().hex}"
        response = httpx.request(
            method, served.url + path, headers={**headers, "X-Request-Id": trace_id,
                                                "Content-Type": "application/json"}, content=body,
        )  # fmt: skip
        assert response.status_code == status
        assert response.headers["x-request-id"] == trace_id
        (line,) = wait_until(
            lambda trace_id=trace_id: _access_lines(served, trace_id), what="the access line"
        )
        assert line["method"] == method
        assert line["route"] == route
        assert line["status"] == status
        assert line["latency_ms"] >= 0
        assert line["partner_id"] == partner_id
        assert line["trace_id"] == trace_id
        assert line["level"] == "info"
    assert acme.api_key not in served.log.read_text()


def test_console_format_keeps_access_lines_readable(serve: Callable[..., Served]) -> None:
    served = serve(PHONELINE_LOG_FORMAT="console")
    trace_id = f"test-{uuid.uuid4().hex}"
    httpx.get(f"{served.url}/api/partner/v3/phone_numbers", headers={"X-Request-Id": trace_id})

    line = wait_until(
        lambda: next((line for line in served.lines() if trace_id in line and "request" in line), None),
        what="the console access line",
    )
    assert not line.lstrip().startswith("{")
    for fragment in ("request", "method=GET", "route=/api/partner/v3/phone_numbers", "status=401"):
        assert fragment in line


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:  # the server closed with our unread bytes in its buffer
        pass
    return data


def test_serve_refuses_an_oversized_header_before_reading_it_whole(serve: Callable[..., Served]) -> None:
    served = serve()
    host, port = served.url.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ")
        sock.settimeout(0.5)
        try:  # a 32 MB header, until the server stops taking it
            while sent < 32 * 1024 * 1024:
                sock.sendall(b"x" * 65536)
                sent += 65536
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        answer = _read_until_closed(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"431"
    error = json.loads(body)["error"]
    assert (error["status"], error["code"]) == (431, 1003)
    assert sent < 8 * 1024 * 1024
    assert httpx.get(f"{served.url}/healthz").status_code == 200


def test_serve_takes_bodies_larger_than_the_header_limit_and_keeps_connections_alive(
    serve: Callable[..., Served],
) -> None:
    served = serve()
    with httpx.Client(base_url=served.url) as client:
        # 200 KB of body in one write: only the head counts against the header limit.
        body = b'{"target_url": "' + b"x" * 200_000 + b'"}'
        response = client.post("/api/partner/v3/webhook-subscriptions", content=body,
                               headers={"Content-Type": "application/json"})  # fmt: skip
        assert response.status_code == 401
        for _ in range(3):  # the same connection, request after request
            assert client.get("/healthz").status_code == 200
