"""Text neither database can store (NUL, lone surrogates) is refused with 400 and nothing is stored;
a message row holding such text (written before the check existed) never makes a read fail."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from phoneline.chats import carrier as chats
from phoneline.clock import SystemClock
from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.settings import Settings
from phoneline.transport.base import InboundMessage
from tests.chats.conftest import Sending, text
from tests.conftest import LiveServer

LINE = "+12025550101"
RECIPIENT = "+12025550199"
UNSTORABLE = {"lone surrogate": "hi \ud800 there", "NUL": "hi \x00 there", "low surrogate": "\udfff"}


def _post(http: httpx.Client, acme: Sending, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    # json.dumps escapes what UTF-8 cannot carry, as a client sending such text would.
    return http.request(
        method, path, content=json.dumps(body),
        headers={"Authorization": f"Bearer {acme.partner.api_key}", "Content-Type": "application/json"},
    )  # fmt: skip


@pytest.mark.parametrize("value", UNSTORABLE.values(), ids=UNSTORABLE.keys())
def test_message_text_that_cannot_be_stored_is_400_1004_and_nothing_is_stored(
    account: Callable[..., Sending],
    http: httpx.Client,
    stored: Callable[[], dict[str, int]],
    value: str,
) -> None:
    acme = account(LINE)
    before = stored()
    bodies = [
        ("/api/partner/v3/chats", {"from": LINE, "to": [RECIPIENT], "message": text(value)}),
        ("/api/partner/v3/messages", {"to": [RECIPIENT], "message": text(value)}),
        ("/api/partner/v3/messages", {"to": [RECIPIENT], "message": text("hi"),
                                      "continuation_message": {"text": value}}),
        ("/api/partner/v3/chats", {"from": LINE, "to": [RECIPIENT], "message": {"parts": [
            {"type": "text", "value": "hi", "text_decorations": [{"style": value, "range": [0, 1]}]}]}}),
    ]  # fmt: skip
    for path, body in bodies:
        response = _post(http, acme, "POST", path, body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == 1004
        assert "cannot be stored" in error["message"]
    assert stored() == before
    assert acme.client.chats.list_chats().chats == []


@pytest.mark.parametrize("value", UNSTORABLE.values(), ids=UNSTORABLE.keys())
def test_other_fields_that_cannot_be_stored_are_400_1003(
    account: Callable[..., Sending],
    http: httpx.Client,
    stored: Callable[[], dict[str, int]],
    value: str,
) -> None:
    acme = account(LINE)
    line_id = acme.client.phone_numbers.list().phone_numbers[0].id
    before = stored()
    cases = [
        ("POST", "/api/partner/v3/chats", {"from": LINE, "to": [RECIPIENT + value], "message": text("hi")}),
        ("POST", "/api/partner/v3/webhook-subscriptions",
         {"target_url": "http://127.0.0.1:9/" + value, "subscribed_events": ["message.sent"]}),
        ("POST", "/api/partner/v3/webhook-subscriptions",
         {"target_url": "http://127.0.0.1:9/hook", "subscribed_events": ["message.sent"],
          "routing_id_header": value}),
        ("PUT", f"/api/partner/v3/phone_numbers/{line_id}", {"forwarding_number": value}),
        # A key of a free-form object counts too.
        ("POST", "/api/partner/v3/chats", {"from": LINE, "to": [RECIPIENT], "message": {"parts": [
            {"type": "text", "value": "hi", "text_decorations": [{value: 1}]}]}}),
    ]  # fmt: skip
    for method, path, body in cases:
        response = _post(http, acme, method, path, body)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"]["code"] in (1003, 1004)
    assert stored() == before
    assert acme.client.webhook_subscriptions.list().subscriptions == []
    assert acme.client.phone_numbers.list().phone_numbers[0].forwarding_number is None


def test_a_stored_message_with_a_lone_surrogate_still_reads(
    account: Callable[..., Sending], settings: Settings, live_server: LiveServer
) -> None:
    """Rows written before text was checked: the inbound path stores what the carrier handed over."""
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("hello")).chat

    async def receive_legacy_text() -> None:
        engine = create_engine(settings)
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            inbound = InboundMessage(
                LINE, RECIPIENT, [{"type": "text", "value": "bad \ud800 text"}], chat_id=chat.id
            )
            await chats.receive_inbound(session, SystemClock(), settings.base_url, inbound)
            await session.commit()
        await engine.dispose()

    asyncio.run(receive_legacy_text())

    messages = acme.client.chats.messages.list(chat.id).messages
    texts = [message.parts[0].value for message in messages]
    assert "bad \ufffd text" in texts
    inbound_id = next(m.id for m in messages if m.parts[0].value == "bad \ufffd text")
    assert acme.client.messages.retrieve(inbound_id).parts[0].value == "bad \ufffd text"
