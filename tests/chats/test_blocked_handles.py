"""Blocked handles through the official client: list/block/unblock, the 2026 send guard, group sends,
and inbound messages from a blocked handle dropped with no webhook and nothing stored."""

from __future__ import annotations

import linq
import pytest

from tests.chats.conftest import text

LINE = "+12025550101"
RECIPIENT, OTHER = "+12025550199", "+12025550198"


def test_block_is_idempotent_lists_newest_first_and_unblocks(account):
    acme = account(LINE)
    first = acme.client.blocked_handles.block(handle="Spam@Example.com", reason="abuse").blocked_handle
    assert (first.handle, first.reason) == ("spam@example.com", "abuse")
    again = acme.client.blocked_handles.block(handle="spam@example.com").blocked_handle
    assert (again.blocked_at, again.reason) == (first.blocked_at, "abuse")
    acme.client.blocked_handles.block(handle="262966")
    acme.client.blocked_handles.block(handle=RECIPIENT)
    listed = [entry.handle for entry in acme.client.blocked_handles.list().blocked_handles]
    assert listed == [RECIPIENT, "262966", "spam@example.com"]
    acme.client.blocked_handles.unblock(handle="262966")
    assert "262966" not in [e.handle for e in acme.client.blocked_handles.list().blocked_handles]
    with pytest.raises(linq.NotFoundError):
        acme.client.blocked_handles.unblock(handle="262966")
    with pytest.raises(linq.BadRequestError) as loose:
        acme.client.blocked_handles.block(handle="+1 (202) 555-0199")
    assert loose.value.body["code"] == 1002
    assert account(name="Globex").client.blocked_handles.list().blocked_handles == []


def test_direct_sends_to_a_blocked_handle_are_403_2026_before_anything_is_stored(account, stored):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    acme.client.blocked_handles.block(handle=RECIPIENT)
    before = stored()
    sends = [
        lambda: acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Again")),
        lambda: acme.client.chats.messages.send(chat.id, message=text("Again")),
        lambda: acme.client.messages.create(to=[RECIPIENT], message=text("Again")),
    ]
    for send in sends:
        with pytest.raises(linq.PermissionDeniedError) as refused:
            send()
        assert refused.value.body["code"] == 2026
    assert stored() == before
    acme.client.blocked_handles.unblock(handle=RECIPIENT)
    assert acme.client.chats.messages.send(chat.id, message=text("Back")).message.id


def test_a_blocked_line_guard_comes_after_the_line_guards(account, cli):
    acme = account(LINE)
    acme.client.blocked_handles.block(handle=RECIPIENT)
    cli("lines", "flag", LINE)
    with pytest.raises(linq.PermissionDeniedError) as refused:
        acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi"))
    assert refused.value.body["code"] == 2027


def test_group_sends_with_an_unblocked_member_go_through(account):
    acme = account(LINE)
    acme.client.blocked_handles.block(handle=RECIPIENT)
    group = acme.client.chats.create(from_=LINE, to=[RECIPIENT, OTHER], message=text("Hi all")).chat
    assert group.is_group is True
    acme.client.blocked_handles.block(handle=OTHER)
    with pytest.raises(linq.PermissionDeniedError):
        acme.client.chats.messages.send(group.id, message=text("Anyone?"))


def test_inbound_from_a_blocked_handle_is_dropped_with_no_webhook(account, cli, stored, events):
    acme = account(LINE)
    acme.client.blocked_handles.block(handle=RECIPIENT)
    before, events_before = stored(), len(events(None))
    dropped = cli("sim", "inbound", "--line", LINE, "--from", RECIPIENT, "--text", "hello?")
    assert dropped["dropped"] is True and dropped["chat_id"] is None
    assert stored() == before and len(events(None)) == events_before
    assert acme.client.chats.list_chats().chats == []
    acme.client.blocked_handles.unblock(handle=RECIPIENT)
    kept = cli("sim", "inbound", "--line", LINE, "--from", RECIPIENT, "--text", "hello?")
    assert kept["dropped"] is False
    assert [e["event_type"] for e in events(None)][-1] == "message.received"
