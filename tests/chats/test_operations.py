"""Chat and message operations through the official client: each reaches the carrier (the sink
transport records them), changes what the API shows, and emits the events Linq emits."""

from __future__ import annotations

import linq
import pytest

from tests.chats.conftest import text

LINE = "+12025550101"
RECIPIENT, OTHER = "+12025550199", "+12025550198"


@pytest.fixture
def carrier(live_server):
    actions = live_server.app.state.sending.transport.actions
    actions.clear()
    return actions


def kinds(actions) -> list[str]:
    return [action.kind for action in actions]


def test_typing_read_and_share_contact_card_reach_the_carrier(account, carrier, cli):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    acme.client.chats.typing.start(chat.id)
    acme.client.chats.typing.stop(chat.id)
    cli("sim", "inbound", "--line", LINE, "--from", RECIPIENT, "--text", "hello")
    assert [m.is_read for m in acme.client.chats.messages.list(chat.id).messages if not m.is_from_me] == [
        False
    ]
    acme.client.chats.mark_as_read(chat.id)
    assert [m.is_read for m in acme.client.chats.messages.list(chat.id).messages if not m.is_from_me] == [
        True
    ]
    with pytest.raises(linq.NotFoundError):
        acme.client.chats.share_contact_card(chat.id)  # the line has no card yet
    acme.client.contact_card.create(first_name="Acme", phone_number=LINE)
    acme.client.chats.share_contact_card(chat.id)
    assert kinds(carrier) == ["typing.started", "typing.stopped", "chat.read", "contact_card.shared"]
    assert carrier[-1].data["contact_card"]["first_name"] == "Acme"
    assert carrier[0].recipients == (RECIPIENT,) and carrier[0].line_number == LINE


def test_a_flagged_line_cannot_type_or_react(account, carrier, cli):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    cli("lines", "flag", LINE)
    with pytest.raises(linq.PermissionDeniedError) as refused:
        acme.client.chats.typing.start(chat.id)
    assert refused.value.body["code"] == 2027
    with pytest.raises(linq.PermissionDeniedError):
        acme.client.messages.add_reaction(chat.message.id, operation="add", type="love")
    assert carrier == []


def test_group_name_icon_and_leave(account, carrier, events):
    acme = account(LINE)
    dm = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    with pytest.raises(linq.BadRequestError) as not_a_group:
        acme.client.chats.update(dm.id, display_name="Team")
    assert not_a_group.value.body["code"] == 1006
    group = acme.client.chats.create(from_=LINE, to=[RECIPIENT, OTHER], message=text("Hi all")).chat
    updated = acme.client.chats.update(
        group.id, display_name="Team", group_chat_icon="https://cdn.example.com/i.png"
    )
    assert updated.chat_id == group.id
    shown = acme.client.chats.retrieve(group.id)
    assert (shown.display_name, shown.group_chat_icon) == ("Team", "https://cdn.example.com/i.png")
    [renamed] = events("chat.group_name_updated")
    assert (renamed["data"]["old_value"], renamed["data"]["new_value"]) == (None, "Team")
    assert len(events("chat.group_icon_updated")) == 1
    left = acme.client.chats.leave_chat(group.id)
    assert left.status == "left"
    assert events("participant.removed")[-1]["data"]["handle"] == LINE
    with pytest.raises(linq.BadRequestError):
        acme.client.chats.messages.send(group.id, message=text("Still here?"))
    assert kinds(carrier) == ["chat.updated", "chat.left"]


def test_edit_delete_and_thread(account, carrier, events):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Helo")).chat
    edited = acme.client.messages.update(chat.message.id, text="Hello")
    assert edited.parts[0].value == "Hello"
    assert acme.client.messages.retrieve(chat.message.id).parts[0].value == "Hello"
    [event] = events("message.edited")
    assert event["data"]["part"] == {"index": 0, "text": "Hello"}

    first = acme.client.chats.messages.send(
        chat.id, message=text("Re 1", reply_to={"message_id": chat.message.id})
    )
    second = acme.client.chats.messages.send(
        chat.id, message=text("Re 2", reply_to={"message_id": chat.message.id})
    )
    acme.client.chats.messages.send(chat.id, message=text("Not in the thread"))
    thread = acme.client.messages.list_messages_thread(second.message.id)
    assert [m.id for m in thread] == [chat.message.id, first.message.id, second.message.id]
    page = acme.client.messages.list_messages_thread(chat.message.id, limit=2, order="desc")
    assert [m.id for m in page.messages] == [second.message.id, first.message.id]
    assert page.next_cursor is not None

    acme.client.messages.delete(first.message.id)
    with pytest.raises(linq.NotFoundError):
        acme.client.messages.retrieve(first.message.id)
    assert first.message.id not in [m.id for m in acme.client.chats.messages.list(chat.id).messages]
    assert kinds(carrier) == ["message.edited", "message.deleted"]


def test_reactions_are_shown_on_their_part_and_emit_events(account, carrier, events):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    added = acme.client.messages.add_reaction(chat.message.id, operation="add", type="love")
    assert added.status == "ok"
    acme.client.messages.add_reaction(chat.message.id, operation="add", type="custom", custom_emoji="🎉")
    [part] = acme.client.messages.retrieve(chat.message.id).parts
    assert [(r.type, r.custom_emoji, r.is_me, r.handle.handle) for r in part.reactions] == [
        ("love", None, True, LINE),
        ("custom", "🎉", True, LINE),
    ]
    acme.client.messages.add_reaction(chat.message.id, operation="remove", type="love")
    [part] = acme.client.messages.retrieve(chat.message.id).parts
    assert [r.type for r in part.reactions] == ["custom"]
    assert [e["data"]["reaction_type"] for e in events("reaction.added")] == ["love", "custom"]
    assert [e["data"]["reaction_type"] for e in events("reaction.removed")] == ["love"]
    assert kinds(carrier) == ["reaction.added", "reaction.added", "reaction.removed"]
    with pytest.raises(linq.BadRequestError):
        acme.client.messages.add_reaction(chat.message.id, operation="add", type="love", part_index=3)


def test_another_partners_chat_and_message_are_404(account):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    globex = account(name="Globex").client
    for call in (
        lambda: globex.chats.typing.start(chat.id),
        lambda: globex.chats.mark_as_read(chat.id),
        lambda: globex.messages.update(chat.message.id, text="mine"),
        lambda: globex.messages.delete(chat.message.id),
        lambda: globex.messages.add_reaction(chat.message.id, operation="add", type="like"),
        lambda: globex.messages.list_messages_thread(chat.message.id),
    ):
        with pytest.raises(linq.NotFoundError):
            call()


def test_participants_are_added_and_removed_in_groups_only(account, carrier, events):
    acme = account(LINE)
    dm = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    with pytest.raises(linq.BadRequestError) as not_a_group:
        acme.client.chats.participants.add(dm.id, handle=OTHER)
    assert not_a_group.value.body["code"] == 1006
    group = acme.client.chats.create(from_=LINE, to=[RECIPIENT, OTHER], message=text("Hi all")).chat
    third = "+12025550197"
    added = acme.client.chats.participants.add(group.id, handle=third)
    assert added.status == "added"
    handles = {h.handle: h.status for h in acme.client.chats.retrieve(group.id).handles}
    assert handles == {LINE: "active", RECIPIENT: "active", OTHER: "active", third: "active"}
    # The recipient set follows: creating a chat with the new set finds this one.
    again = acme.client.chats.create(from_=LINE, to=[RECIPIENT, OTHER, third], message=text("All three"))
    assert again.chat.id == group.id
    acme.client.chats.participants.remove(group.id, handle=OTHER)
    shown = {h.handle: h.status for h in acme.client.chats.retrieve(group.id).handles}
    assert shown[OTHER] == "removed"
    with pytest.raises(linq.BadRequestError):
        acme.client.chats.participants.remove(group.id, handle=RECIPIENT)  # a group keeps two
    with pytest.raises(linq.BadRequestError) as loose:
        acme.client.chats.participants.add(group.id, handle="2025550196")
    assert loose.value.body["code"] == 1002
    assert [e["data"]["handle"] for e in events("participant.added")] == [third]
    assert [e["data"]["handle"] for e in events("participant.removed")] == [OTHER]
    assert kinds(carrier) == ["participant.added", "participant.removed"]


def test_typing_in_a_group_is_403_as_linq_answers(account, carrier):
    acme = account(LINE)
    group = acme.client.chats.create(from_=LINE, to=[RECIPIENT, OTHER], message=text("Hi all")).chat
    with pytest.raises(linq.PermissionDeniedError) as refused:
        acme.client.chats.typing.start(group.id)
    assert refused.value.body["code"] == 2005
    assert carrier == []


def test_the_other_sides_typing_and_shared_card_are_events(account, cli, events):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    assert cli("sim", "typing", "--line", LINE, "--from", RECIPIENT)["dropped"] is False
    cli("sim", "typing", "--line", LINE, "--from", RECIPIENT, "--stopped")
    [started] = events("chat.typing_indicator.started")
    assert started["data"]["chat_id"] == chat.id
    assert started["data"]["actor_handle"]["handle"] == RECIPIENT
    assert len(events("chat.typing_indicator.stopped")) == 1
    cli("sim", "contact-card", "--line", LINE, "--from", RECIPIENT, "--first-name", "Ada", "--last-name", "L")
    [card] = events("contact_card.received")
    assert (card["data"]["first_name"], card["data"]["last_name"]) == ("Ada", "L")
    assert (card["data"]["owner_handle"], card["data"]["sender_handle"]) == (LINE, RECIPIENT)


def test_app_card_updates_and_sticker_placement_are_refused_clearly(account, carrier):
    """The transports carry neither (docs/api.md): each is an error in the Linq envelope, nothing sent."""
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    with pytest.raises(linq.APIStatusError) as app_card:
        acme.client.messages.update_app_card(chat.message.id, layout={"caption": "Move 2"})
    with pytest.raises(linq.APIStatusError) as sticker:
        acme.client.messages.update_sticker_placement(
            "0f6e3c57-1ad1-4c1f-9d1e-5b0d3f7a9c11", message_id=chat.message.id, placement={"x": 0.5, "y": 0.5}
        )
    assert (app_card.value.status_code, app_card.value.body["code"]) == (404, 1005)
    assert "app card" in app_card.value.body["message"] and "transports" in app_card.value.body["message"]
    assert (sticker.value.status_code, sticker.value.body["code"]) == (404, 1005)
    assert sticker.value.body["message"].startswith("Sticker placement")
    assert carrier == []


def test_out_of_scope_operations_answer_404_saying_so(account):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    calls = {
        "Polls": lambda: acme.client.chats.polls.create(
            chat.id, poll={"question": "Lunch?", "options": ["Yes", "No"]}
        ),
        "Location sharing": lambda: acme.client.chats.location.retrieve(chat.id),
        "Chat backgrounds": lambda: acme.client.chats.background.remove(chat.id),
        "Experiences": lambda: acme.client.experiences.list(),
        "Payments": lambda: acme.client.payments.retrieve("pay_1"),
    }
    for what, call in calls.items():
        with pytest.raises(linq.NotFoundError) as refused:
            call()
        assert refused.value.body["message"].startswith(what), refused.value.body
        assert "out of scope" in refused.value.body["message"]


def test_another_participants_reaction_shows_on_its_part_and_emits_events(account, cli, events):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    react = ["sim", "reaction", "--line", LINE, "--from", RECIPIENT, "--message", chat.message.id]
    cli(*react, "--type", "love")
    cli(*react, "--type", "love")  # a repeat changes nothing
    [part] = acme.client.messages.retrieve(chat.message.id).parts
    assert [(r.type, r.is_me, r.handle.handle) for r in part.reactions] == [("love", False, RECIPIENT)]
    [added] = events("reaction.added")
    assert (added["data"]["is_from_me"], added["data"]["from"]) == (False, RECIPIENT)
    assert added["data"]["from_handle"]["handle"] == RECIPIENT
    cli(*react, "--type", "love", "--remove")
    assert acme.client.messages.retrieve(chat.message.id).parts[0].reactions == []
    assert len(events("reaction.removed")) == 1
