"""The opt-out keyword rules exactly as the contract states them, end to end through inbound messages."""

from __future__ import annotations

import linq
import pytest

from phoneline.chats.optout import opt_out_keyword
from tests.chats.conftest import text

LINE = "+12025550101"
OTHER_LINE = "+12025550102"
RECIPIENT = "+12025550199"


KEYWORDS = ["STOP", "UNSUBSCRIBE", "OPTOUT", "CANCEL", "END", "QUIT", "  STOP \n"]
ANY_CASE = ["OPT OUT", "Opt-Out", "optout", "opt out", "oPt-oUt"]


@pytest.mark.parametrize("message", KEYWORDS + ANY_CASE)
def test_opt_out_keywords(message):
    assert opt_out_keyword(message) is not None


NOT_KEYWORDS = ["please stop", "stop", "Stop", "STOP please", "STOP!", "Quit", "end", "opt  out", "opt_out"]


@pytest.mark.parametrize("message", [*NOT_KEYWORDS, "opt--out", "", None])
def test_not_opt_out_keywords(message):
    assert opt_out_keyword(message) is None


def inbound(cli, line: str, handle: str, message: str, chat: str | None = None) -> dict:
    args = ["sim", "inbound", "--line", line, "--from", handle, "--text", message]
    return cli(*args, *(["--chat", chat] if chat else []))


def test_opt_out_marks_only_its_chat_blocks_every_line_and_a_later_reply_elsewhere_opts_back_in(
    account, cli, events
):
    acme = account(LINE, OTHER_LINE)
    first = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    second = acme.client.chats.create(from_=OTHER_LINE, to=[RECIPIENT], message=text("Hi")).chat

    inbound(cli, LINE, RECIPIENT, "Opt-Out")
    assert acme.client.chats.retrieve(first.id).health_status.status == "OPTED_OUT"
    # The mark is the conversation the keyword arrived in; the block is wider.
    assert acme.client.chats.retrieve(second.id).health_status.status == "HEALTHY"
    with pytest.raises(linq.PermissionDeniedError) as refused:
        acme.client.chats.messages.send(second.id, message=text("Hello?"))
    assert refused.value.body["code"] == 2024

    inbound(cli, OTHER_LINE, RECIPIENT, "Actually, I do want updates")
    assert acme.client.chats.retrieve(first.id).health_status.status == "HEALTHY"
    assert acme.client.chats.messages.send(first.id, message=text("Welcome back")).message.id
    received = events("message.received")
    assert [e["data"]["direction"] for e in received] == ["inbound", "inbound"]
    assert received[0]["data"]["sender_handle"]["handle"] == RECIPIENT


def test_please_stop_is_an_ordinary_message(account, cli):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    inbound(cli, LINE, RECIPIENT, "please stop")
    assert acme.client.chats.retrieve(chat.id).health_status.status == "HEALTHY"
    assert acme.client.chats.messages.send(chat.id, message=text("Noted")).message.id


def test_a_keyword_is_never_an_opt_back_in(account, cli):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    inbound(cli, LINE, RECIPIENT, "STOP")
    inbound(cli, LINE, RECIPIENT, "QUIT")
    with pytest.raises(linq.PermissionDeniedError):
        acme.client.chats.messages.send(chat.id, message=text("Hello?"))


def test_group_chats_are_never_marked_or_blocked(account, cli):
    acme = account(LINE)
    group = acme.client.chats.create(from_=LINE, to=[RECIPIENT, "+12025550198"], message=text("Hi all")).chat
    inbound(cli, LINE, RECIPIENT, "STOP", chat=group.id)
    assert acme.client.chats.retrieve(group.id).health_status.status == "HEALTHY"
    assert acme.client.chats.messages.send(group.id, message=text("Still here")).message.id
    # The keyword in the group did not opt them out of one-to-one messages either.
    assert acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Direct")).chat.id


def test_a_group_stays_sendable_while_a_member_is_opted_out(account, cli):
    acme = account(LINE)
    acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi"))
    inbound(cli, LINE, RECIPIENT, "STOP")
    group = acme.client.chats.create(from_=LINE, to=[RECIPIENT, "+12025550198"], message=text("Hi all"))
    assert group.chat.is_group


def test_inbound_from_a_new_handle_opens_a_chat(account, cli, events):
    acme = account(LINE)
    doc = inbound(cli, LINE, "friend@example.com", "Hello there")
    chat = acme.client.chats.retrieve(doc["chat_id"])
    assert {h.handle for h in chat.handles} == {LINE, "friend@example.com"}
    message = acme.client.messages.retrieve(doc["message_id"])
    assert message.is_from_me is False and message.delivery_status == "received"
    assert message.from_handle.handle == "friend@example.com"
    assert [e["event_type"] for e in events() if e["event_type"].startswith(("chat.", "message."))] == [
        "chat.created",
        "message.received",
    ]


def test_sim_inbound_for_an_unknown_line_fails_with_one_sentence_on_stderr(cli):
    result = cli.run(
        "sim", "inbound", "--line", "+12025550177", "--from", RECIPIENT, "--text", "hi", "--json"
    )
    assert result.exit_code != 0
    assert "+12025550177" in result.stderr
    assert result.stdout == ""
