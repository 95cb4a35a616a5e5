"""Signed carrier-bridge requests are applied once: a repeated `webhook-id` is refused (409) and a stale
or future signature is refused (401), in a replay store shared by every process on the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from linq import LinqAPIV3
from pydantic import SecretStr

from phoneline.transport import signing
from tests.conftest import Cli
from tests.transport.conftest import SECRET

LINE = "+12025550101"
SENDER = "+12025550199"


@pytest.fixture
def bridges(serve: Any, gateway: Any, make_partner: Any, cli: Cli) -> tuple[Any, Any, LinqAPIV3]:
    """Two http_bridge servers on the same database, a line to report about and its owner's client."""
    first, second = (
        serve(transport="http_bridge", bridge_url=gateway.url, bridge_secret=SecretStr(SECRET))
        for _ in range(2)
    )
    acme = make_partner("Acme")
    cli("lines", "assign", LINE, "--partner", acme.id)
    return first, second, LinqAPIV3(api_key=acme.api_key, base_url=first.api_url, max_retries=0)


def post(server: Any, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}/bridge/v1/{path}", content=body, headers=headers, timeout=10)


def inbound_body(words: str) -> bytes:
    return json.dumps({"line": LINE, "from": SENDER, "text": words}).encode()


def test_a_repeated_request_is_refused_and_applied_once_on_any_process(
    bridges: tuple[Any, Any, LinqAPIV3], cli: Cli
) -> None:
    first, second, client = bridges
    body = inbound_body("Hello there")
    headers = signing.sign(SECRET, body, "gw_request_1")
    applied = post(first, "inbound", body, headers)
    assert applied.status_code == 200
    for server in (first, second):
        again = post(server, "inbound", body, headers)
        assert again.status_code == 409
        assert again.json()["error"]["message"].startswith(
            "The bridge request gw_request_1 was already applied"
        )
    (chat,) = list(client.chats.list_chats())
    assert len(list(client.chats.messages.list(chat.id))) == 1
    # Re-signed with a fresh timestamp, the same id is still the same request.
    resigned = post(second, "line_status", json.dumps({"line": LINE, "status": "FLAGGED"}).encode(),
                    signing.sign(SECRET, json.dumps({"line": LINE, "status": "FLAGGED"}).encode(), "gw_request_1"))  # fmt: skip
    assert resigned.status_code == 409
    assert cli("lines", "show", LINE)["status"] == "ACTIVE"
    # A new id is a new request.
    flagged = json.dumps({"line": LINE, "status": "FLAGGED"}).encode()
    assert (
        post(second, "line_status", flagged, signing.sign(SECRET, flagged, "gw_request_2")).status_code == 200
    )
    assert cli("lines", "show", LINE)["status"] == "FLAGGED"


def test_a_request_that_failed_can_be_sent_again_with_its_id(
    bridges: tuple[Any, Any, LinqAPIV3], cli: Cli
) -> None:
    first, _second, _client = bridges
    unknown = json.dumps({"line": "+12025550000", "status": "FLAGGED"}).encode()
    assert post(first, "line_status", unknown, signing.sign(SECRET, unknown, "gw_retry")).status_code == 404
    known = json.dumps({"line": LINE, "status": "FLAGGED"}).encode()
    # Nothing was applied, so nothing was remembered: the gateway's corrected retry goes through.
    assert post(first, "line_status", known, signing.sign(SECRET, known, "gw_retry")).status_code == 200


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_stale_or_future_signature_is_refused(
    bridges: tuple[Any, Any, LinqAPIV3], cli: Cli, skew: timedelta
) -> None:
    first, _second, _client = bridges
    flagged = json.dumps({"line": LINE, "status": "FLAGGED"}).encode()
    headers = signing.sign(SECRET, flagged, "gw_stale", at=datetime.now(UTC) + skew)
    refused = post(first, "line_status", flagged, headers)
    assert refused.status_code == 401 and "stale" in refused.json()["error"]["message"]
    assert cli("lines", "show", LINE)["status"] == "ACTIVE"


@pytest.mark.parametrize(
    "headers",
    [
        {"webhook-id": "x", "webhook-timestamp": "now", "webhook-signature": "v1,abc"},
        {"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "no-comma"},
        {"webhook-id": "x" * 300, "webhook-signature": "v1,%%%"},
    ],
)
def test_malformed_signature_headers_are_refused_not_crashed(
    bridges: tuple[Any, Any, LinqAPIV3], headers: dict[str, str]
) -> None:
    first, _second, _client = bridges
    response = post(
        first, "line_status", b"\xff\xfe not json", {**headers, "content-type": "application/json"}
    )
    assert response.status_code == 401
