"""The send guards, in order, each refusing before anything is stored or sent:
2006 not your line, 2027 line cannot send, 2024 recipient opted out, 1007 pair rate limit."""

from __future__ import annotations

import linq
import pytest

from tests.chats.conftest import line_activity, text

LINE = "+12025550101"
OTHER_LINE = "+12025550102"
RECIPIENT = "+12025550199"


def test_from_that_is_not_your_line_is_2006_and_stores_nothing(account, stored):
    acme = account(LINE)
    account(OTHER_LINE, name="Rival")
    before = stored()
    for number in (OTHER_LINE, "+12025550177"):  # another partner's line, a line nobody has
        with pytest.raises(linq.PermissionDeniedError) as refused:
            acme.client.chats.create(from_=number, to=[RECIPIENT], message=text("Hi"))
        assert refused.value.status_code == 403
        assert refused.value.body["code"] == 2006
    assert stored() == before


def test_released_line_refuses_sends_into_its_old_chats_with_2006(account, cli, stored):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    cli("lines", "release", LINE)
    before = stored()
    with pytest.raises(linq.PermissionDeniedError) as refused:
        acme.client.chats.messages.send(chat.id, message=text("Still there?"))
    assert refused.value.body["code"] == 2006
    assert stored() == before
    assert acme.client.chats.retrieve(chat.id).id == chat.id  # reads keep working


def test_flagged_line_refuses_new_chat_message_and_voice_memo_but_reads_work(account, cli, stored, admin):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    cli("lines", "flag", LINE, "--reason", "carrier complaint")
    before = stored()
    activity_before = line_activity(admin, LINE)

    attempts = [
        lambda: acme.client.chats.create(from_=LINE, to=["+12025550188"], message=text("New")),
        lambda: acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Existing chat")),
        lambda: acme.client.chats.messages.send(chat.id, message=text("Again")),
        lambda: acme.client.chats.send_voicememo(chat.id, voice_memo_url="https://cdn.example.com/a.mp3"),
    ]
    for attempt in attempts:
        with pytest.raises(linq.PermissionDeniedError) as refused:
            attempt()
        assert refused.value.body["code"] == 2027
    assert stored() == before
    assert line_activity(admin, LINE) == activity_before

    assert acme.client.chats.retrieve(chat.id).id == chat.id
    assert len(list(acme.client.chats.messages.list(chat.id))) == 1
    cli("lines", "unflag", LINE)
    assert acme.client.chats.messages.send(chat.id, message=text("Back")).message.delivery_status == "sent"


def test_flag_applies_to_the_very_next_send(account, cli):
    # The line's status is read from the database on every send, never from a cache.
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    acme.client.phone_numbers.list()  # warm the line-list cache
    cli("lines", "flag", LINE)
    with pytest.raises(linq.PermissionDeniedError):
        acme.client.chats.messages.send(chat.id, message=text("Now?"))


def opt_out(cli, line: str, handle: str, keyword: str = "STOP") -> None:
    cli("sim", "inbound", "--line", line, "--from", handle, "--text", keyword)


def test_opted_out_recipient_is_2024_on_every_chat_and_line_until_overridden(
    account, cli, stored, admin, events
):
    acme = account(LINE, OTHER_LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    opt_out(cli, LINE, RECIPIENT)
    assert acme.client.chats.retrieve(chat.id).health_status.status == "OPTED_OUT"

    before = stored()
    attempts = [
        lambda: acme.client.chats.messages.send(chat.id, message=text("Wait")),
        lambda: acme.client.chats.create(from_=OTHER_LINE, to=[RECIPIENT], message=text("Other line")),
        lambda: acme.client.messages.create(to=[RECIPIENT], message=text("Auto")),
    ]
    for attempt in attempts:
        with pytest.raises(linq.PermissionDeniedError) as refused:
            attempt()
        assert refused.value.body["code"] == 2024
    assert stored() == before

    overridden = acme.client.chats.messages.send(chat.id, message=text("Confirming: you are unsubscribed."),
                                                 override_optout=True)  # fmt: skip
    assert overridden.message.delivery_status == "sent"
    after = stored()
    assert after["opt_out_overrides"] == before["opt_out_overrides"] + 1
    assert line_activity(admin, LINE)[0]["overrides"] == 1
    # The opt-out stays in place: the next send without the flag is refused again.
    with pytest.raises(linq.PermissionDeniedError):
        acme.client.chats.messages.send(chat.id, message=text("And again"))


def test_other_partners_do_not_share_an_opt_out(account, cli):
    acme = account(LINE)
    rival = account(OTHER_LINE, name="Rival")
    acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi"))
    opt_out(cli, LINE, RECIPIENT)
    assert rival.client.chats.create(from_=OTHER_LINE, to=[RECIPIENT], message=text("Hi")).chat.id


def test_pair_rate_limit_is_429_1007_with_retry_after_and_stores_nothing(account, stored):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("1")).chat
    for n in range(2, 31):
        acme.client.chats.messages.send(chat.id, message=text(str(n)))
    before = stored()
    with pytest.raises(linq.RateLimitError) as limited:
        acme.client.chats.messages.send(chat.id, message=text("31"))
    assert limited.value.status_code == 429
    assert limited.value.body["code"] == 1007
    retry_after = int(limited.value.response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert limited.value.body["retry_after"] == retry_after
    assert stored() == before
    # Another recipient from the same line is another pair.
    assert acme.client.chats.create(from_=LINE, to=["+12025550188"], message=text("Hi")).chat.id
