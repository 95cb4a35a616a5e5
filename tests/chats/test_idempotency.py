"""Idempotent sends: a repeated key returns the original response and sends nothing new, also when the
repeats race each other."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import linq
import pytest

from tests.chats.conftest import text

LINE = "+12025550101"
RECIPIENT = "+12025550199"


def test_repeated_body_key_replays_the_original_response(account, stored):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    first = acme.client.chats.messages.send(chat.id, message=text("Once", idempotency_key="order-42"))
    after_first = stored()
    again = acme.client.chats.messages.with_raw_response.send(
        chat.id, message=text("Once", idempotency_key="order-42")
    )
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.parse().message.id == first.message.id
    assert stored() == after_first


def test_idempotency_key_header_on_messages_create(account, stored):
    acme = account(LINE)
    first = acme.client.messages.create(to=[RECIPIENT], message=text("Hi"), idempotency_key="k-1")
    after_first = stored()
    again = acme.client.messages.create(to=[RECIPIENT], message=text("Hi"), idempotency_key="k-1")
    assert again.message.id == first.message.id and again.chat_id == first.chat_id
    assert stored() == after_first


def test_a_key_reused_for_a_different_request_is_refused(account):
    acme = account(LINE)
    acme.client.messages.create(to=[RECIPIENT], message=text("Hi"), idempotency_key="k-2")
    with pytest.raises(linq.BadRequestError):
        acme.client.messages.create(to=[RECIPIENT], message=text("Something else"), idempotency_key="k-2")


def test_keys_are_per_partner(account):
    acme = account(LINE)
    rival = account("+12025550102", name="Rival")
    mine = acme.client.messages.create(to=[RECIPIENT], message=text("Hi"), idempotency_key="shared")
    theirs = rival.client.messages.create(to=[RECIPIENT], message=text("Hi"), idempotency_key="shared")
    assert mine.message.id != theirs.message.id


@pytest.mark.parametrize("new_chat", [False, True])
def test_concurrent_duplicates_send_exactly_once(account, stored, new_chat):
    acme = account(LINE)
    if not new_chat:
        acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi"))
    before = stored()

    def send(_: int) -> str:
        response = acme.client.messages.create(to=[RECIPIENT], message=text("Race"), idempotency_key="race-1")
        return response.message.id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(send, range(8)))
    assert len(set(ids)) == 1
    after = stored()
    assert after["messages"] == before["messages"] + 1
    assert after["idempotent_responses"] == before["idempotent_responses"] + 1
    assert after["chats"] == before["chats"] + int(new_chat)


def test_concurrent_creates_of_one_chat_without_a_key_share_the_chat(account):
    acme = account(LINE)

    def create(n: int) -> str:
        return acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text(f"Hi {n}")).chat.id

    with ThreadPoolExecutor(max_workers=6) as pool:
        chat_ids = set(pool.map(create, range(6)))
    assert len(chat_ids) == 1
    assert len(list(acme.client.chats.messages.list(chat_ids.pop()))) == 6
