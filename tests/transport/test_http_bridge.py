"""The http_bridge transport against a local fake carrier gateway: signed JSON both ways."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import linq
import pytest
from linq import LinqAPIV3
from pydantic import SecretStr
from standardwebhooks import Webhook

from phoneline.transport import signing
from tests.chats.conftest import line_activity, text
from tests.conftest import wait_until
from tests.transport.conftest import SECRET

LINE = "+12025550101"
RECIPIENT = "+12025550199"


@pytest.fixture
def bridged(serve, gateway, make_partner, cli):
    live = serve(transport="http_bridge", bridge_url=gateway.url, bridge_secret=SecretStr(SECRET))
    live.app.state.sending.transport.retry_delays_s = (0.0, 0.0)
    partner = make_partner("Acme")
    cli("lines", "assign", LINE, "--partner", partner.id)
    client = LinqAPIV3(api_key=partner.api_key, base_url=live.api_url, max_retries=0)
    return live, client


def report(live, path: str, payload: dict[str, Any], secret: str = SECRET) -> httpx.Response:
    body = json.dumps(payload).encode()
    return httpx.post(f"{live.url}/bridge/v1/{path}", content=body, headers=signing.sign(secret, body))


def test_outbound_message_reaches_the_gateway_signed(bridged, gateway):
    _live, client = bridged
    chat = client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hello")).chat
    wait_until(lambda: gateway.received)
    (call,) = gateway.received
    payload = Webhook(SECRET).verify(call["body"], call["headers"])
    assert call["headers"]["webhook-id"] == chat.message.id
    assert payload["type"] == "message.outbound"
    data = payload["data"]
    assert (data["id"], data["chat_id"], data["from"], data["to"]) == (
        chat.message.id,
        chat.id,
        LINE,
        [RECIPIENT],
    )
    assert data["parts"] == [{"type": "text", "value": "Hello"}]


def test_delivery_read_and_failure_reports_update_the_message(bridged, gateway, admin):
    live, client = bridged
    chat = client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hello")).chat
    second = client.chats.messages.send(chat.id, message=text("Two")).message
    ok = report(live, "delivery_reports", {"reports": [
        {"message_id": chat.message.id, "status": "delivered"},
        {"message_id": chat.message.id, "status": "read"},
        {"message_id": second.id, "status": "failed", "code": 4001, "reason": "unreachable"},
    ]})  # fmt: skip
    assert ok.status_code == 200 and ok.json() == {"applied": 3}
    first = client.messages.retrieve(chat.message.id)
    assert (first.delivery_status, first.is_delivered) == ("read", True)
    assert client.messages.retrieve(second.id).delivery_status == "failed"
    assert line_activity(admin, LINE)[0]["failed"] == 1
    # Carriers repeat themselves: a repeated report changes nothing.
    again = report(
        live, "delivery_reports", {"reports": [{"message_id": chat.message.id, "status": "delivered"}]}
    )
    assert again.json() == {"applied": 0}


def test_inbound_from_the_gateway_is_a_received_message_and_obeys_opt_out(bridged):
    live, client = bridged
    chat = client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hello")).chat
    response = report(live, "inbound", {"line": LINE, "from": RECIPIENT, "text": "STOP"})
    assert response.status_code == 200
    assert response.json()["chat_id"] == chat.id
    assert client.chats.retrieve(chat.id).health_status.status == "OPTED_OUT"


def test_carrier_flag_and_clear_reach_the_line(bridged, cli):
    live, client = bridged
    chat = client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hello")).chat
    assert (
        report(live, "line_status", {"line": LINE, "status": "FLAGGED", "reason": "spam reports"}).status_code
        == 200
    )
    with pytest.raises(linq.PermissionDeniedError) as refused:
        client.chats.messages.send(chat.id, message=text("Still?"))
    assert refused.value.body["code"] == 2027
    history = cli("lines", "history", LINE)["history"]
    assert (history[-1]["new_value"], history[-1]["actor"]) == ("FLAGGED", "carrier")
    report(live, "line_status", {"line": LINE, "status": "ACTIVE"})
    assert client.chats.messages.send(chat.id, message=text("Back")).message.id


def test_unsigned_or_wrongly_signed_calls_are_401(bridged):
    live, _client = bridged
    body = b'{"line":"+12025550101","status":"FLAGGED"}'
    assert httpx.post(f"{live.url}/bridge/v1/line_status", content=body).status_code == 401
    other = "whsec_" + base64.b64encode(b"another-secret-of-thirty-two-by!").decode()
    assert report(live, "line_status", {"line": LINE, "status": "FLAGGED"}, secret=other).status_code == 401


def test_a_gateway_that_refuses_the_message_fails_it_with_3007(bridged, gateway, events):
    _live, client = bridged
    gateway.status = 503
    chat = client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hello")).chat
    wait_until(lambda: client.messages.retrieve(chat.message.id).delivery_status == "failed")
    assert len(gateway.received) == 3  # the first try and the two retries
    (failed,) = events("message.failed")
    assert failed["data"]["code"] == 3007 and failed["data"]["message_id"] == chat.message.id


def test_the_bridge_endpoints_are_closed_unless_the_bridge_is_the_transport(live_server):
    body = b"{}"
    response = httpx.post(
        f"{live_server.url}/bridge/v1/inbound", content=body, headers=signing.sign(SECRET, body)
    )
    assert response.status_code == 403


def test_capability_checks_ask_the_gateway_signed(bridged, gateway):
    _live, client = bridged
    gateway.capability = (200, b'{"available": false, "selected_service": "SMS"}')
    answer = client.capability.check_RCS(address=RECIPIENT)
    assert (answer.address, answer.available, answer.reason, answer.selected_service) == (
        RECIPIENT, False, "not_supported", "SMS",
    )  # fmt: skip
    (call,) = gateway.received
    payload = Webhook(SECRET).verify(call["body"], call["headers"])
    assert payload == {
        "type": "capability.check",
        "data": {"address": RECIPIENT, "service": "RCS", "from": LINE},
    }


@pytest.mark.parametrize("answer", [(500, b""), (200, b"not json"), (200, b'{"available": "yes"}')])
def test_a_gateway_that_cannot_answer_a_capability_check_is_503_unknown(bridged, gateway, answer):
    _live, client = bridged
    gateway.capability = answer
    with pytest.raises(linq.InternalServerError) as unknown:
        client.capability.check_i_message(address=RECIPIENT)
    assert unknown.value.status_code == 503 and unknown.value.body["code"] == 4004


def test_the_gateway_reports_typing_and_shared_contact_cards_as_linq_events(bridged, events):
    live, client = bridged
    chat = client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hello")).chat
    started = report(live, "typing", {"line": LINE, "from": RECIPIENT, "state": "started"})
    assert (started.status_code, started.json()) == (200, {"dropped": False})
    assert report(live, "typing", {"line": LINE, "from": RECIPIENT, "state": "stopped"}).status_code == 200
    typing = [e for e in events() if e["event_type"].startswith("chat.typing_indicator.")]
    assert [(e["event_type"], e["data"]["chat_id"]) for e in typing] == [
        ("chat.typing_indicator.started", chat.id),
        ("chat.typing_indicator.stopped", chat.id),
    ]
    assert typing[0]["data"]["actor_handle"]["handle"] == RECIPIENT
    # Nobody types into a chat the line does not have.
    stranger = report(live, "typing", {"line": LINE, "from": "+12025550177", "state": "started"})
    assert stranger.status_code == 404

    card = {
        "line": LINE,
        "from": RECIPIENT,
        "first_name": "Ada",
        "media_url": "https://cdn.example.com/a.jpg",
    }
    assert report(live, "contact_cards", card).json() == {"dropped": False}
    [received] = events("contact_card.received")
    assert received["data"] == {
        "first_name": "Ada", "last_name": "", "owner_handle": LINE, "sender_handle": RECIPIENT,
        "media_url": "https://cdn.example.com/a.jpg",
    }  # fmt: skip
    assert report(live, "contact_cards", {**card, "first_name": "x" * 201}).status_code == 400


def test_typing_and_cards_from_a_blocked_handle_are_dropped(bridged, events):
    live, client = bridged
    client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hello"))
    client.blocked_handles.block(handle=RECIPIENT)
    typed = report(live, "typing", {"line": LINE, "from": RECIPIENT, "state": "started"})
    assert typed.json() == {"dropped": True}
    shared = report(live, "contact_cards", {"line": LINE, "from": RECIPIENT, "first_name": "Ada"})
    assert shared.json() == {"dropped": True}
    kinds = {e["event_type"] for e in events()}
    assert not kinds & {"chat.typing_indicator.started", "contact_card.received"}


def test_the_gateway_reports_a_participants_reaction(bridged, events):
    live, client = bridged
    chat = client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hello")).chat
    reaction = {"line": LINE, "from": RECIPIENT, "message_id": chat.message.id, "operation": "add"}
    answer = report(live, "reactions", {**reaction, "type": "custom", "custom_emoji": "🎉"})
    assert (answer.status_code, answer.json()) == (200, {"dropped": False})
    [part] = client.messages.retrieve(chat.message.id).parts
    assert [(r.type, r.custom_emoji, r.is_me) for r in part.reactions] == [("custom", "🎉", False)]
    [added] = events("reaction.added")
    assert (added["data"]["reaction_type"], added["data"]["is_from_me"]) == ("custom", False)
    assert report(live, "reactions", {**reaction, "type": "like", "part_index": 5}).status_code == 400
    stranger = {**reaction, "from": "+12025550177", "type": "like"}
    assert report(live, "reactions", stranger).status_code == 400  # not a participant
    unknown = {**reaction, "message_id": "8b0f8a4e-6f5c-4f0e-9a55-3d7c1c2b9e10", "type": "like"}
    assert report(live, "reactions", unknown).status_code == 404
