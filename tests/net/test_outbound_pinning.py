"""The outbound rule connects to the address it checked, with TLS still verified against the host name.

No public endpoint lets a test choose what DNS answers, so these drive `net.outbound` directly: a host
name whose DNS answer changes after the first lookup (DNS rebinding), two HTTPS servers that say who
they are, and a test CA trusted by the client only.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import trustme

from phoneline.net import outbound

HOST = "rebind.test"


def _serve(address: str, port: int, name: bytes, ca: trustme.CA) -> ThreadingHTTPServer:
    class Answer(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: pooled connections can be reused

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", str(len(name)))
            self.end_headers()
            self.wfile.write(name)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((address, port), Answer)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """HOST answers 127.0.0.1 to the first lookup and 127.0.0.2 to every later one; both serve HTTPS
    for HOST on the same port. Loopback counts as public here, so the rule lets the first answer pass."""
    ca = trustme.CA()
    first = _serve("127.0.0.1", 0, b"checked", ca)
    port = first.server_address[1]
    second = _serve("127.0.0.2", port, b"rebound", ca)
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != HOST:
            return real_getaddrinfo(host, *args, **kwargs)
        address = "127.0.0.1" if not lookups else "127.0.0.2"
        lookups.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(outbound, "is_public_address", lambda address: True)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    yield {"port": port, "lookups": lookups, "ssl_context": client_context}
    first.shutdown()
    second.shutdown()


async def _post(transport: httpx.AsyncBaseTransport, url: str) -> bytes:
    async with outbound.open_stream(
        transport, "POST", url, allow_private=False, headers={}, content=b"{}"
    ) as response:
        return await response.aread()


def test_a_changed_dns_answer_does_not_move_the_connection(rebinding: dict[str, Any]) -> None:
    async def scenario() -> bytes:
        transport = outbound.transport(connections=1, ssl_context=rebinding["ssl_context"])
        async with transport:
            return await _post(transport, f"https://{HOST}:{rebinding['port']}/hook")

    # TLS verified the certificate for HOST (the client trusts only the test CA), on the checked address.
    assert asyncio.run(scenario()) == b"checked"
    assert rebinding["lookups"] == ["127.0.0.1"]  # one lookup: the one that was checked


def test_a_connection_verified_for_one_host_is_not_reused_for_another(rebinding: dict[str, Any]) -> None:
    """Another name on the same address gets its own TLS handshake (and here fails it: the server's
    certificate is only for HOST), not the pooled connection HOST verified."""

    async def scenario() -> None:
        transport = outbound.transport(connections=1, ssl_context=rebinding["ssl_context"])
        async with transport:
            assert await _post(transport, f"https://{HOST}:{rebinding['port']}/hook") == b"checked"
            with pytest.raises(httpx.ConnectError, match="certificate"):
                await _post(transport, f"https://127.0.0.1:{rebinding['port']}/hook")

    asyncio.run(scenario())
