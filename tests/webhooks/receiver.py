"""A real HTTP receiver for webhook tests: it records every request and checks each one three ways.

Every delivery is verified as it arrives with `standardwebhooks.Webhook(secret).verify`, the official
client's `client.webhooks.unwrap(body, headers=..., key=secret)`, and the legacy hex HMAC of
"{timestamp}.{body}" keyed by the whole secret. Tests assert `receiver.verification_failures == []`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from linq import LinqAPIV3
from standardwebhooks import Webhook

# Any client works for unwrap(); it makes no request.
_UNWRAP_CLIENT = LinqAPIV3(api_key="unused", base_url="http://127.0.0.1:9")


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float  # time.monotonic() on arrival
    wall: float = 0.0  # time.time() on arrival, to compare with the envelope's created_at

    @property
    def envelope(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return str(self.envelope["event_id"])

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    # Seconds to wait before answering (a receiver that hangs past the timeout).
    delay_s: float = 0.0
    # Send this many bytes of body instead of `body` (a huge response), in 64 KiB chunks.
    stream_bytes: int = 0


Responder = Callable[[Received, int], Reply]  # (request, how many requests came before it) -> reply


def verification_errors(received: Received, secret: str) -> list[str]:
    """Empty when all three checks pass."""
    errors: list[str] = []
    body = received.body.decode()
    try:
        Webhook(secret).verify(body, received.headers)
    except Exception as error:
        errors.append(f"standardwebhooks: {error}")
    try:
        _UNWRAP_CLIENT.webhooks.unwrap(body, headers=received.headers, key=secret)
    except Exception as error:
        errors.append(f"linq unwrap: {error}")
    timestamp = received.headers.get("x-webhook-timestamp", "")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, received.headers.get("x-webhook-signature", "")):
        errors.append("legacy hex HMAC does not match")
    return errors


class Receiver:
    def __init__(self, responder: Responder | None = None) -> None:
        self.responder: Responder = responder or (lambda _request, _count: Reply())
        self.requests: list[Received] = []
        self.verification_failures: list[str] = []
        self.secrets: list[str] = []
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every response.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender died mid-request (a killed worker): nothing was delivered
                received = Received(
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                    at=time.monotonic(),
                    wall=time.time(),
                )
                reply = receiver._record(received)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                # The caller may hang up first (it timed out, or read all it wanted).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._reply(reply)

            def _reply(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                length = reply.stream_bytes or len(reply.body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if reply.stream_bytes:
                    chunk = b"x" * 65536
                    for _ in range(reply.stream_bytes // len(chunk)):
                        self.wfile.write(chunk)
                else:
                    self.wfile.write(reply.body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _record(self, received: Received) -> Reply:
        with self._lock:
            count = len(self.requests)
            self.requests.append(received)
            secrets = list(self.secrets)
        failures = [] if not secrets else verification_errors(received, secrets[0])
        if len(secrets) > 1:
            # Several subscriptions share this receiver: the one named in the legacy header signed it.
            failures = ["no secret verifies the request"]
            for secret in secrets:
                if not verification_errors(received, secret):
                    failures = []
                    break
        reply = self.responder(received, count)
        with self._lock:
            self.verification_failures.extend(failures)
            self._lock.notify_all()
        return reply

    def verify_with(self, secret: str) -> None:
        with self._lock:
            self.secrets.append(secret)

    def wait_for(
        self, condition: Callable[[list[Received]], bool], *, timeout: float = 15.0, what: str = ""
    ) -> list[Received]:
        """Block until `condition(requests)` holds; fail with what was seen after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition(self.requests):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out waiting for {what or 'the receiver'}; got {len(self.requests)} requests"
                    )
                self._lock.wait(remaining)
            return list(self.requests)

    def wait_for_count(self, count: int, *, timeout: float = 15.0) -> list[Received]:
        return self.wait_for(
            lambda requests: len(requests) >= count, timeout=timeout, what=f"{count} requests"
        )

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
