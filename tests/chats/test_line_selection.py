"""POST /v3/messages: the server picks the line (reuse, best new line, failover) — through messages.create."""

from __future__ import annotations

import asyncio

import linq
import pytest

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.lines import service as lines
from phoneline.lines.models import HealthStatus
from tests.chats.conftest import text

A, B, C = "+12025550101", "+12025550102", "+12025550103"
RECIPIENT = "+12025550199"


def set_health(settings, number: str, health: HealthStatus) -> None:
    async def work() -> None:
        engine = create_engine(settings, pool=False)
        async with create_sessionmaker(engine)() as session:
            line = await lines.require_line(session, number)
            await lines.set_health(session, line, health, actor="test")
            await session.commit()
        await engine.dispose()

    asyncio.run(work())


def test_reuses_the_recipients_chat_on_a_line_that_can_send(account):
    acme = account(A, B)
    chat = acme.client.chats.create(from_=B, to=[RECIPIENT], message=text("Hi")).chat
    sent = acme.client.messages.create(to=[RECIPIENT], message=text("Again"), exclude_from=[B])
    # An exclusion never abandons a live chat.
    assert (sent.chat_id, sent.from_, sent.created_new_chat) == (chat.id, B, False)
    assert sent.from_selection.reason == "reused_active_chat"
    assert sent.from_selection.reused_existing_chat is True
    assert sent.previous_chat_id is None


def test_new_chat_goes_to_the_healthiest_line_then_the_least_recently_used(account, settings):
    acme = account(A, B, C)
    set_health(settings, A, HealthStatus.AT_RISK)
    acme.client.chats.create(from_=B, to=["+12025550111"], message=text("Hi"))  # B opened one today
    first = acme.client.messages.create(to=[RECIPIENT], message=text("Hello"))
    assert first.from_ == C  # B and C are HEALTHY; B sent last, so C is the least recently used
    assert first.created_new_chat is True
    assert first.from_selection.reason == "new_best_number"
    assert first.from_selection.reused_existing_chat is False
    assert {h.handle for h in first.handles} == {C, RECIPIENT}
    second = acme.client.messages.create(to=["+12025550112"], message=text("Hello"), exclude_from=[B, C])
    assert second.from_ == A  # the AT_RISK line is still eligible when the others are excluded


def test_the_first_message_of_an_auto_picked_chat_may_carry_a_link(account):
    acme = account(A)
    sent = acme.client.messages.create(
        to=[RECIPIENT], message={"parts": [{"type": "link", "value": "https://a.example"}]}
    )
    assert sent.message.parts[0].type == "link"


def test_failover_from_a_flagged_line_sends_the_continuation_message_on_a_fresh_line(account, cli):
    acme = account(A, B)
    old = acme.client.chats.create(from_=A, to=[RECIPIENT], message=text("Hi")).chat
    cli("lines", "flag", A)
    sent = acme.client.messages.create(
        to=[RECIPIENT],
        message=text("The original content"),
        continuation_message={"text": "Hi, this is Acme from our new number."},
    )
    assert sent.from_ == B
    assert sent.created_new_chat is True
    assert sent.from_selection.reason == "failover_flagged"
    assert sent.previous_chat_id == old.id
    assert [p.value for p in sent.message.parts] == ["Hi, this is Acme from our new number."]
    assert len(list(acme.client.chats.messages.list(old.id))) == 1  # nothing went into the flagged chat


def test_failover_without_a_continuation_message_sends_the_message(account, cli):
    acme = account(A, B)
    acme.client.chats.create(from_=A, to=[RECIPIENT], message=text("Hi"))
    cli("lines", "flag", A)
    sent = acme.client.messages.create(to=[RECIPIENT], message=text("Original"))
    assert sent.from_selection.reason == "failover_flagged"
    assert sent.message.parts[0].value == "Original"


def test_excluding_every_line_is_a_400_and_stores_nothing(account, stored):
    acme = account(A, B)
    before = stored()
    with pytest.raises(linq.BadRequestError) as refused:
        acme.client.messages.create(to=[RECIPIENT], message=text("Hi"), exclude_from=[A, B, "+12025550177"])
    assert refused.value.body["code"] == 1005
    assert stored() == before


def test_exclude_from_must_be_e164(account):
    acme = account(A, B)
    with pytest.raises(linq.BadRequestError) as refused:
        acme.client.messages.create(to=[RECIPIENT], message=text("Hi"), exclude_from=["2025550101"])
    assert refused.value.body["code"] == 1002 and "2025550101" in refused.value.body["message"]


def test_no_line_that_can_send_is_a_409_and_stores_nothing(account, cli, stored):
    acme = account(A)
    cli("lines", "flag", A)
    before = stored()
    with pytest.raises(linq.ConflictError) as refused:
        acme.client.messages.create(to=[RECIPIENT], message=text("Hi"))
    assert refused.value.status_code == 409
    assert stored() == before
    nobody = account(name="No lines")
    with pytest.raises(linq.ConflictError):
        nobody.client.messages.create(to=[RECIPIENT], message=text("Hi"))
