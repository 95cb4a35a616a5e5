"""Chats and messages through the official client: create, reuse, list across pages, retrieve."""

from __future__ import annotations

import linq
import pytest

from tests.chats.conftest import text
from tests.conftest import wait_until

LINE = "+12025550101"
OTHER_LINE = "+12025550102"


def test_create_chat_sends_the_first_message_and_reuses_the_chat_for_the_same_recipients(account, events):
    acme = account(LINE)
    created = acme.client.chats.create(from_=LINE, to=["+12025550199"], message=text("Hello"))
    chat = created.chat
    assert chat.is_group is False
    assert chat.service == "iMessage"
    assert chat.health_status.status == "HEALTHY"
    assert {h.handle for h in chat.handles} == {LINE, "+12025550199"}
    assert [h.is_me for h in chat.handles if h.handle == LINE] == [True]
    assert chat.message.delivery_status == "sent"
    assert chat.message.parts[0].value == "Hello"
    assert chat.message.from_handle.handle == LINE

    again = acme.client.chats.create(from_=LINE, to=["+12025550199"], message=text("Second"))
    assert again.chat.id == chat.id
    assert again.chat.message.id != chat.message.id
    kinds = [e["event_type"] for e in events() if e["event_type"] in ("chat.created", "message.sent")]
    assert kinds == ["chat.created", "message.sent", "message.sent"]
    sent = events("message.sent")[0]["data"]
    assert sent["id"] == chat.message.id
    assert sent["direction"] == "outbound"
    assert sent["chat"]["owner_handle"]["handle"] == LINE


def test_sent_message_is_delivered_by_the_transport(account, events):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=["+12025550199"], message=text("Hi")).chat
    sent = acme.client.chats.messages.send(chat.id, message=text("Follow-up"))
    assert sent.chat_id == chat.id
    delivered = wait_until(
        lambda: (m := acme.client.messages.retrieve(sent.message.id)).delivery_status == "delivered" and m
    )
    assert delivered.is_delivered and delivered.is_from_me
    assert delivered.from_ == LINE
    assert delivered.delivered_at is not None
    wait_until(lambda: len(events("message.delivered")) == 2)


def test_chats_list_pages_through_every_chat_and_filters_by_from_and_to(account):
    acme = account(LINE, OTHER_LINE)
    recipients = [f"+1202555{n:04d}" for n in range(300, 305)]
    ids = [acme.client.chats.create(from_=LINE, to=[r], message=text("Hi")).chat.id for r in recipients]
    other = acme.client.chats.create(from_=OTHER_LINE, to=[recipients[0]], message=text("Hi")).chat.id

    first = acme.client.chats.list_chats(limit=2)
    assert len(first.chats) == 2 and first.next_cursor
    everything = [chat.id for chat in acme.client.chats.list_chats(limit=2)]  # auto-paginates
    assert everything == [other, *reversed(ids)]  # newest first, each exactly once

    assert [c.id for c in acme.client.chats.list_chats(from_=OTHER_LINE)] == [other]
    assert {c.id for c in acme.client.chats.list_chats(to=recipients[0])} == {ids[0], other}
    assert acme.client.chats.list_chats().next_cursor is None  # default page of 20 holds all six


@pytest.mark.parametrize("limit", [0, 101])
def test_chats_list_limit_outside_1_to_100_is_a_400(account, limit):
    acme = account(LINE)
    with pytest.raises(linq.BadRequestError) as refused:
        acme.client.chats.list_chats(limit=limit)
    assert refused.value.body["code"] == 1005


def test_another_partners_chat_and_message_are_404(account):
    acme = account(LINE)
    rival = account(OTHER_LINE, name="Rival")
    chat = acme.client.chats.create(from_=LINE, to=["+12025550199"], message=text("Hi")).chat
    with pytest.raises(linq.NotFoundError) as missing:
        rival.client.chats.retrieve(chat.id)
    assert missing.value.body["code"] == 2001
    with pytest.raises(linq.NotFoundError) as missing:
        rival.client.messages.retrieve(chat.message.id)
    assert missing.value.body["code"] == 2002
    with pytest.raises(linq.NotFoundError):
        rival.client.chats.messages.send(chat.id, message=text("Hijack"))
    with pytest.raises(linq.PermissionDeniedError) as denied:
        rival.client.chats.list_chats(from_=LINE)
    assert denied.value.body["code"] == 2006


def test_messages_list_newest_first_across_pages_and_retrieve_one(account):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=["+12025550199"], message=text("m0")).chat
    for n in range(1, 5):
        acme.client.chats.messages.send(chat.id, message={"parts": [{"type": "text", "value": f"m{n}"}]})
    values = [m.parts[0].value for m in acme.client.chats.messages.list(chat.id, limit=2)]
    assert values == ["m4", "m3", "m2", "m1", "m0"]
    one = acme.client.messages.retrieve(chat.message.id)
    assert one.chat_id == chat.id and one.parts[0].value == "m0"


def test_group_chat_is_one_chat_for_the_recipient_set_in_any_order(account):
    acme = account(LINE)
    group = acme.client.chats.create(
        from_=LINE, to=["+12025550198", "+12025550199"], message=text("Hi all")
    ).chat
    assert group.is_group is True
    again = acme.client.chats.create(from_=LINE, to=["+12025550199", "+12025550198"], message=text("Again"))
    assert again.chat.id == group.id


def test_link_effect_and_reply_to_are_stored(account):
    # Media parts by URL: tests/chats/test_conformance.py (they are fetched).
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=["+12025550199"], message=text("Hi")).chat
    media = acme.client.chats.messages.send(
        chat.id,
        message={
            "parts": [{"type": "text", "value": "Look"}],
            "effect": {"type": "screen", "name": "confetti"},
            "reply_to": {"message_id": chat.message.id},
        },
    ).message
    assert media.effect.name == "confetti"
    assert media.reply_to.message_id == chat.message.id
    link = acme.client.chats.messages.send(
        chat.id, message={"parts": [{"type": "link", "value": "https://example.com"}]}
    ).message
    assert link.parts[0].type == "link"
    stored = acme.client.messages.retrieve(media.id)
    assert stored.effect.type == "screen" and stored.reply_to.message_id == chat.message.id


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"parts": [{"type": "link", "value": "https://example.com"}]}, 1005),
        (text("see https://example.com"), 1005),
        (text("hi", effect={"type": "screen", "name": "confetti"}), 1005),
        ({"parts": [{"type": "text", "value": "a"}, {"type": "text", "value": "b"}]}, 1004),
        ({"parts": []}, 1004),
        ({"parts": [{"type": "link", "value": "https://a.example"}, {"type": "text", "value": "b"}]}, 1004),
    ],
)
def test_first_message_and_content_rules_refuse_with_400_and_store_nothing(account, stored, message, code):
    acme = account(LINE)
    before = stored()
    with pytest.raises(linq.BadRequestError) as refused:
        acme.client.chats.create(from_=LINE, to=["+12025550199"], message=message)
    assert refused.value.body["code"] == code
    assert stored() == before


def test_a_link_may_follow_once_the_chat_exists(account):
    acme = account(LINE)
    acme.client.chats.create(from_=LINE, to=["+12025550199"], message=text("Hi"))
    again = acme.client.chats.create(
        from_=LINE, to=["+12025550199"], message={"parts": [{"type": "link", "value": "https://example.com"}]}
    )
    assert again.chat.message.parts[0].type == "link"
