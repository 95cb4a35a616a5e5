"""Request limits, checked before anything is parsed or authenticated, each refusal in the Linq envelope."""

from __future__ import annotations

import json
import resource
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from phoneline import inputs
from tests.chats.conftest import Sending, text
from tests.conftest import LiveServer

CHATS = "/api/partner/v3/chats"
LINE = "+12025550101"
MIB = 1024 * 1024


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response read off a raw socket (the tests below must control what is sent)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection without answering"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body


def _connect(live_server: LiveServer) -> socket.socket:
    host, port = live_server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    return sock


def _assert_envelope(body: bytes, status: int, code: int) -> dict[str, Any]:
    document = json.loads(body)
    assert document["success"] is False
    assert document["error"]["status"] == status
    assert document["error"]["code"] == code
    assert document["trace_id"]
    return dict(document["error"])


def test_a_declared_body_over_the_limit_is_413_before_authentication_and_unread(
    live_server: LiveServer,
) -> None:
    with _connect(live_server) as sock:
        began = time.perf_counter()
        # 100 MB announced, not one byte of it sent: the answer cannot depend on reading it.
        sock.sendall(
            f"POST {CHATS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {100 * MIB}\r\n\r\n".encode()
        )
        status, headers, body = _read_response(sock)
        elapsed = time.perf_counter() - began

    assert status == 413
    error = _assert_envelope(body, 413, 1003)
    assert str(MIB) in error["message"]
    assert headers["x-request-id"]
    assert elapsed < 1.0


def test_a_streamed_body_is_cut_off_at_the_limit_and_memory_does_not_grow_with_it(
    live_server: LiveServer,
) -> None:
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    chunk = b"x" * (64 * 1024)
    chunk_frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with _connect(live_server) as sock:
        sock.sendall(
            f"POST {CHATS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        sock.settimeout(0.5)
        # Up to 100 MB, until the server stops taking it (its answer arrives, or the socket stalls).
        try:
            while sent < 100 * MIB:
                sock.sendall(chunk_frame)
                sent += len(chunk)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        status, _headers, body = _read_response(sock)

    assert status == 413
    _assert_envelope(body, 413, 1003)
    # The server read about its limit, then stopped: what was sent beyond that sits in socket buffers.
    assert sent < 16 * MIB
    peak_after_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert peak_after_kib - peak_before_kib < 64 * 1024


def test_headers_over_the_limit_are_431_in_the_envelope(http: httpx.Client) -> None:
    response = http.get("/api/partner/v3/phone_numbers", headers={"X-Padding": "x" * (32 * 1024)})

    assert response.status_code == 431
    _assert_envelope(response.content, 431, 1003)
    assert http.get("/healthz", headers={"X-Padding": "x" * 1024}).status_code == 200


def test_a_nul_in_the_query_string_is_400_before_any_query(
    account: Callable[..., Sending], http: httpx.Client
) -> None:
    acme = account(LINE)
    response = http.get(f"{CHATS}?to=%2B1202%00", headers={"Authorization": f"Bearer {acme.partner.api_key}"})

    assert response.status_code == 400
    _assert_envelope(response.content, 400, 1005)


def _post(http: httpx.Client, acme: Sending, path: str, body: dict[str, Any]) -> tuple[httpx.Response, float]:
    began = time.perf_counter()
    response = http.post(
        path, content=json.dumps(body), headers={"Authorization": f"Bearer {acme.partner.api_key}",
                                                 "Content-Type": "application/json"},
    )  # fmt: skip
    return response, time.perf_counter() - began


def _numbers(count: int) -> list[str]:
    return [f"+1202{index:07d}" for index in range(count)]


@pytest.mark.parametrize(
    ("path", "body", "code", "fragment"),
    [
        (CHATS, {"from": LINE, "to": _numbers(inputs.MAX_RECIPIENTS + 1), "message": text("hi")}, 1003, "to"),
        ("/api/partner/v3/messages", {"to": ["+12025550199"], "message": text("hi"),
                                      "exclude_from": _numbers(inputs.MAX_LINE_LIST + 1)}, 1003, "exclude_from"),
        (CHATS, {"from": LINE, "to": ["+12025550199"],
                 "message": {"parts": [{"type": "text", "value": "a"}] * (inputs.MAX_PARTS + 1)}}, 1004, "parts"),
        (CHATS, {"from": LINE, "to": ["+12025550199"], "message": text("a" * (inputs.MAX_TEXT_LENGTH + 1))},
         1004, "value"),
        (CHATS, {"from": LINE, "to": ["+12025550199"],
                 "message": {"parts": [{"type": "media", "url": "https://a.example/" + "x" * inputs.MAX_URL_LENGTH}]}},
         1004, "url"),
        ("/api/partner/v3/webhook-subscriptions", {"target_url": "https://a.example/hook",
                                                   "subscribed_events": ["message.sent"] * (inputs.MAX_EVENT_TYPES + 1)},
         1003, "subscribed_events"),
        ("/api/partner/v3/webhook-subscriptions", {"target_url": "https://a.example/hook",
                                                   "subscribed_events": ["message.sent"],
                                                   "phone_numbers": _numbers(inputs.MAX_LINE_LIST + 1)},
         1003, "phone_numbers"),
    ],
    ids=["to", "exclude_from", "parts", "text", "media-url", "subscribed_events", "phone_numbers"],
)  # fmt: skip
def test_every_list_and_string_past_its_maximum_is_400_in_milliseconds(
    account: Callable[..., Sending],
    http: httpx.Client,
    stored: Callable[[], dict[str, int]],
    path: str,
    body: dict[str, Any],
    code: int,
    fragment: str,
) -> None:
    acme = account(LINE)
    before = stored()
    response, elapsed = _post(http, acme, path, body)

    assert response.status_code == 400
    assert fragment in _assert_envelope(response.content, 400, code)["message"]
    assert elapsed < 0.5
    assert stored() == before


def test_two_hundred_thousand_exclusions_are_refused_at_once(
    account: Callable[..., Sending], http: httpx.Client
) -> None:
    acme = account(LINE)
    body = {"to": ["+12025550199"], "message": text("hi"), "exclude_from": _numbers(200_000)}
    response, elapsed = _post(http, acme, "/api/partner/v3/messages", body)

    assert response.status_code == 413
    _assert_envelope(response.content, 413, 1003)
    assert elapsed < 1.0


def test_cursor_and_filters_past_their_maximum_are_400(
    account: Callable[..., Sending], http: httpx.Client
) -> None:
    acme = account(LINE)
    headers = {"Authorization": f"Bearer {acme.partner.api_key}"}
    too_long = "x" * (inputs.MAX_CURSOR_LENGTH + 1)
    for query in ({"cursor": too_long}, {"to": too_long}, {"from": too_long}):
        response = http.get(CHATS, params=query, headers=headers)
        assert response.status_code == 400
        _assert_envelope(response.content, 400, 1005)


def test_the_limits_are_in_the_openapi_document(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    schemas = document["components"]["schemas"]

    assert schemas["CreateChatIn"]["properties"]["to"]["maxItems"] == inputs.MAX_RECIPIENTS
    exclude = schemas["AutoSendIn"]["properties"]["exclude_from"]["anyOf"][0]
    assert exclude["maxItems"] == inputs.MAX_LINE_LIST
    assert schemas["TextPartIn"]["properties"]["value"]["maxLength"] == inputs.MAX_TEXT_LENGTH
    events = schemas["SubscriptionCreate"]["properties"]["subscribed_events"]
    assert events["maxItems"] == inputs.MAX_EVENT_TYPES
    assert events["items"]["maxLength"] == inputs.MAX_NAME_LENGTH
    assert "413" in document["info"]["description"] and "431" in document["info"]["description"]
    parameters = document["paths"]["/api/partner/v3/chats"]["get"]["parameters"]
    cursor = next(p for p in parameters if p["name"] == "cursor")
    assert cursor["schema"]["anyOf"][0]["maxLength"] == inputs.MAX_CURSOR_LENGTH
