"""The events of chat and message operations, delivered, verified by the official client, and valid
against linq-python's event models (reaction, participant, edit, group name and icon)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from linq.types import (
    ChatGroupIconUpdatedWebhookEvent,
    ChatGroupNameUpdatedWebhookEvent,
    MessageEditedWebhookEvent,
    ParticipantAddedWebhookEvent,
    ParticipantRemovedWebhookEvent,
    ReactionAddedWebhookEvent,
    ReactionRemovedWebhookEvent,
)

from tests.webhooks.conftest import Subscribed

MODELS = {
    "reaction.added": ReactionAddedWebhookEvent,
    "reaction.removed": ReactionRemovedWebhookEvent,
    "participant.added": ParticipantAddedWebhookEvent,
    "participant.removed": ParticipantRemovedWebhookEvent,
    "message.edited": MessageEditedWebhookEvent,
    "chat.group_name_updated": ChatGroupNameUpdatedWebhookEvent,
    "chat.group_icon_updated": ChatGroupIconUpdatedWebhookEvent,
}


def test_operation_events_verify_and_parse_with_the_official_client(
    subscribe: Callable[..., Subscribed],
) -> None:
    sub = subscribe(events=list(MODELS))
    client, line = sub.client, sub.number
    message = {"parts": [{"type": "text", "value": "Helo"}]}
    group = client.chats.create(from_=line, to=["+12025550198", "+12025550199"], message=message).chat
    client.messages.update(group.message.id, text="Hello")
    client.messages.add_reaction(group.message.id, operation="add", type="love")
    client.messages.add_reaction(group.message.id, operation="remove", type="love")
    client.chats.update(group.id, display_name="Team", group_chat_icon="https://cdn.example.com/team.png")
    client.chats.participants.add(group.id, handle="+12025550197")
    client.chats.participants.remove(group.id, handle="+12025550197")

    received = sub.receiver.wait_for_count(len(MODELS))
    assert sub.receiver.verification_failures == []
    seen: dict[str, Any] = {}
    for request in received:
        envelope = json.loads(request.body)
        event = MODELS[envelope["event_type"]].model_validate(envelope)
        seen[envelope["event_type"]] = event
    assert set(seen) == set(MODELS)
    assert seen["message.edited"].data.part.text == "Hello"
    assert seen["reaction.added"].data.reaction_type == "love"
    assert seen["reaction.added"].data.is_from_me is True
    assert seen["chat.group_name_updated"].data.new_value == "Team"
    assert seen["participant.added"].data.handle == "+12025550197"
