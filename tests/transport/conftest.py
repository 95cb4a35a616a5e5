"""A second phoneline server on the same database with another transport (simulator, http_bridge), and
a fake carrier gateway for the bridge."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from phoneline.app import create_app
from phoneline.settings import Settings
from tests.chats.conftest import events  # noqa: F401  (the outbox as the webhooks dispatcher sees it)
from tests.conftest import LiveServer, free_port, start_live_server, stop_live_server

SECRET = "whsec_" + base64.b64encode(b"bridge-test-secret-32-bytes-long").decode()


@pytest.fixture
def serve(settings: Settings) -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        live = start_live_server(create_app(settings.model_copy(update=overrides)), free_port())
        started.append(live)
        return live

    yield start
    for live in started:
        stop_live_server(live)


class Gateway(BaseHTTPRequestHandler):
    """Takes outbound messages like a carrier gateway; `status` lets a test make it fail."""

    received: list[dict[str, Any]] = []
    status = 202
    url = ""
    # What a capability check is answered with: (status, JSON body).
    capability: tuple[int, bytes] = (200, b'{"available": true, "selected_service": "iMessage"}')

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"body": body, "headers": dict(self.headers.items())})
        status, answer = self.status, b""
        if json.loads(body).get("type") == "capability.check":
            status, answer = self.capability
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[type[Gateway]]:
    Gateway.received, Gateway.status = [], 202
    Gateway.capability = (200, b'{"available": true, "selected_service": "iMessage"}')
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Gateway.url = f"http://127.0.0.1:{server.server_address[1]}/outbound"
    yield Gateway
    server.shutdown()
