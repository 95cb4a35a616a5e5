"""The simulator: personas derived from the handle and the seed, and what each one does."""

from __future__ import annotations

from collections import Counter

import linq
import pytest
from linq import LinqAPIV3

from phoneline.transport.simulator import OPT_OUT_TEXT, Persona, persona_for, plan
from tests.chats.conftest import text
from tests.conftest import wait_until

SEED = "test-seed"
LINE = "+12025550101"


def handles() -> list[str]:
    return [f"+1202555{n:04d}" for n in range(1000, 2000)]


def handle_with(persona: Persona, seed: str = SEED) -> str:
    return next(h for h in handles() if persona_for(h, seed) is persona)


def test_personas_are_a_function_of_handle_and_seed():
    first = [persona_for(h, SEED) for h in handles()]
    assert first == [persona_for(h, SEED) for h in handles()]
    assert first != [persona_for(h, "another-seed") for h in handles()]
    shares = Counter(first)
    # The documented buckets: 40 / 20 / 20 / 10 / 10 percent.
    assert 330 < shares[Persona.RESPONSIVE] < 470
    assert all(shares[p] > 50 for p in Persona)


def test_plans_replay_for_a_seed():
    handle = handle_with(Persona.RESPONSIVE)
    assert plan(handle, SEED, 3) == plan(handle, SEED, 3)
    assert [s.action for s in plan(handle, SEED, 0)] == [
        "delivered", "read", "typing.started", "typing.stopped", "reply"
    ]  # fmt: skip
    assert [s.action for s in plan(handle_with(Persona.BOUNCING), SEED, 0)] == ["failed"]
    assert [s.action for s in plan(handle_with(Persona.SILENT), SEED, 0)] == ["delivered"]
    opting = handle_with(Persona.OPTING_OUT)
    assert plan(opting, SEED, 0)[-1].text == OPT_OUT_TEXT
    assert all(s.action != "reply" for s in plan(opting, SEED, 1, opted_out_already=True))
    assert [s.action for s in plan(handle, SEED, 0, is_group=True)] == ["delivered", "read"]


def test_cli_shows_a_handles_persona(cli, monkeypatch):
    monkeypatch.setenv("PHONELINE_SIMULATOR_SEED", SEED)
    handle = handle_with(Persona.SLOW)
    doc = cli("sim", "persona", handle)
    assert doc["persona"] == "slow" and doc["seed"] == SEED
    assert [step["action"] for step in doc["first_message"]] == [
        "delivered", "read", "typing.started", "typing.stopped", "reply"
    ]  # fmt: skip


@pytest.fixture
def simulated(serve, make_partner, cli):
    live = serve(transport="simulator", simulator_seed=SEED, simulator_speed=1000.0)
    partner = make_partner("Acme")
    cli("lines", "assign", LINE, "--partner", partner.id)
    return LinqAPIV3(api_key=partner.api_key, base_url=live.api_url, max_retries=0)


def test_a_responsive_recipient_reads_types_and_replies(simulated, events):
    recipient = handle_with(Persona.RESPONSIVE)
    chat = simulated.chats.create(from_=LINE, to=[recipient], message=text("Hi")).chat
    messages = wait_until(lambda: len(m := list(simulated.chats.messages.list(chat.id))) == 2 and m)
    reply, sent = messages
    assert reply.is_from_me is False and reply.parts[0].value
    assert simulated.messages.retrieve(sent.id).delivery_status == "read"
    typing = [e for e in events() if e["event_type"].startswith("chat.typing_indicator.")]
    assert [e["event_type"] for e in typing] == [
        "chat.typing_indicator.started", "chat.typing_indicator.stopped"
    ]  # fmt: skip
    assert {e["data"]["chat_id"] for e in typing} == {chat.id}
    assert {e["data"]["actor_handle"]["handle"] for e in typing} == {recipient}
    assert not any(e["data"]["actor_handle"]["is_me"] for e in typing)


def test_a_bouncing_recipient_fails_delivery_with_a_code(simulated):
    chat = simulated.chats.create(from_=LINE, to=[handle_with(Persona.BOUNCING)], message=text("Hi")).chat
    wait_until(lambda: simulated.messages.retrieve(chat.message.id).delivery_status == "failed")


def test_an_opting_out_recipient_stops_the_conversation(simulated):
    recipient = handle_with(Persona.OPTING_OUT)
    chat = simulated.chats.create(from_=LINE, to=[recipient], message=text("Hi")).chat
    wait_until(lambda: simulated.chats.retrieve(chat.id).health_status.status == "OPTED_OUT")
    with pytest.raises(linq.PermissionDeniedError) as refused:
        simulated.chats.messages.send(chat.id, message=text("Hello?"))
    assert refused.value.body["code"] == 2024
