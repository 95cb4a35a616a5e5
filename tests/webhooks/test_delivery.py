"""Delivery through a real server (its in-process dispatcher) to a real receiver: envelope, headers,
fan-out, and per-line order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from linq import LinqAPIV3
from linq.types import (
    ChatTypingIndicatorStartedWebhookEvent,
    ContactCardCreatedWebhookEvent,
    ContactCardDeletedWebhookEvent,
    ContactCardReceivedWebhookEvent,
    ContactCardUpdatedWebhookEvent,
)

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.lines import service as lines
from phoneline.settings import Settings
from tests.conftest import PartnerAccount
from tests.webhooks.conftest import (
    FAST,
    NUMBER,
    STATUS,
    App,
    Subscribed,
    deliveries,
    wait_for_deliveries,
)
from tests.webhooks.receiver import Received, Receiver, Reply


def test_a_flag_is_delivered_once_with_the_envelope_and_both_signed_header_sets(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    sub = subscribe()

    cli("lines", "flag", NUMBER, "--reason", "carrier complaint")

    [request] = sub.receiver.wait_for_count(1)
    assert sub.receiver.verification_failures == []
    envelope = request.envelope
    assert envelope["api_version"] == "v3"
    assert envelope["webhook_version"] == "2026-02-03"  # created after 2026-02-03, no ?version=
    assert envelope["event_type"] == STATUS
    assert envelope["partner_id"] == sub.partner.id
    assert envelope["trace_id"]
    assert envelope["created_at"].endswith("Z")
    assert request.webhook_id == envelope["event_id"]
    assert envelope["data"] == {
        "phone_number": NUMBER,
        "previous_status": "ACTIVE",
        "new_status": "FLAGGED",
        "previous_health_status": "HEALTHY",
        "new_health_status": "HEALTHY",
        "previous_reputation": "HEALTHY",
        "new_reputation": "HEALTHY",
        "changed_at": envelope["data"]["changed_at"],
    }
    assert request.headers["x-webhook-event"] == STATUS
    assert request.headers["x-webhook-subscription-id"] == sub.subscription.id
    assert request.headers["x-webhook-timestamp"] == request.headers["webhook-timestamp"]
    assert request.headers["content-type"] == "application/json"
    [delivery] = wait_for_deliveries(
        cli, sub.subscription.id, lambda found: found and found[0]["state"] == "succeeded", "success"
    )
    assert delivery["event_id"] == envelope["event_id"]
    assert delivery["attempts"] == 1
    [attempt] = delivery["attempt_log"]
    assert attempt["status_code"] == 200
    assert attempt["outcome"] == "succeeded"
    assert attempt["response_excerpt"] == "ok"
    assert attempt["latency_ms"] > 0


def test_version_on_the_target_url_selects_the_webhook_version(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    sub = subscribe(path="/hook?version=2025-01-01")

    cli("lines", "flag", NUMBER)

    [request] = sub.receiver.wait_for_count(1)
    assert request.envelope["webhook_version"] == "2025-01-01"
    assert request.path == "/hook?version=2025-01-01"
    assert sub.receiver.verification_failures == []


def test_ownership_and_forwarding_events_are_delivered_to_subscribers(
    subscribe: Callable[..., Subscribed], cli: Any, make_partner: Callable[[str], PartnerAccount]
) -> None:
    sub = subscribe(
        events=["phone_number.assigned", "phone_number.released", "phone_number.forwarding_updated"]
    )
    other = make_partner("Other")
    line_id = sub.client.phone_numbers.list().phone_numbers[0].id

    sub.client.phone_numbers.update(line_id, forwarding_number="+12025550199")
    cli("lines", "move", NUMBER, "--partner", other.id)
    cli("lines", "assign", "+12025550124", "--partner", sub.partner.id)

    requests = sub.receiver.wait_for_count(3)
    about = {(r.envelope["event_type"], r.envelope["data"]["phone_number"]): r for r in requests}
    assert set(about) == {
        ("phone_number.forwarding_updated", NUMBER),
        ("phone_number.released", NUMBER),
        ("phone_number.assigned", "+12025550124"),
    }
    forwarding = about[("phone_number.forwarding_updated", NUMBER)]
    assert forwarding.envelope["data"]["change"] == {"from": None, "to": "+12025550199"}
    # Same line: in the order they happened.
    assert forwarding.at <= about[("phone_number.released", NUMBER)].at
    assert sub.receiver.verification_failures == []


def test_an_event_fans_out_only_to_matching_active_subscriptions_of_its_partner(
    subscribe: Callable[..., Subscribed],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Any,
) -> None:
    sub = subscribe()  # every line, status events
    receiver = make_receiver()
    client = sub.client
    assigned_only = client.webhook_subscriptions.create(
        target_url=receiver.url + "/assigned", subscribed_events=["phone_number.assigned"]
    )
    other_line = client.webhook_subscriptions.create(
        target_url=receiver.url + "/other-line", subscribed_events=[STATUS], phone_numbers=["+12025550124"]
    )
    this_line = client.webhook_subscriptions.create(
        target_url=receiver.url + "/this-line", subscribed_events=[STATUS], phone_numbers=[NUMBER]
    )
    paused = client.webhook_subscriptions.create(
        target_url=receiver.url + "/paused", subscribed_events=[STATUS]
    )
    client.webhook_subscriptions.update(paused.id, is_active=False)
    stranger = sub.app.linq(make_partner("Other").api_key).webhook_subscriptions.create(
        target_url=receiver.url + "/stranger", subscribed_events=[STATUS]
    )
    receiver.verify_with(this_line.signing_secret)

    cli("lines", "flag", NUMBER)

    sub.receiver.wait_for_count(1)
    [request] = receiver.wait_for_count(1)
    assert request.path == "/this-line"
    # Fan-out of one event is one transaction: once any subscription has it, all matching ones do.
    for not_matching in (assigned_only, other_line, paused, stranger):
        assert deliveries(cli, not_matching.id) == []
    assert receiver.verification_failures == []


def test_webhook_id_is_the_event_id_on_every_subscription_and_every_retry(
    subscribe: Callable[..., Subscribed], make_receiver: Callable[..., Receiver], cli: Any
) -> None:
    sub = subscribe(lambda _request, count: Reply(503 if count < 2 else 200))
    second_receiver = make_receiver()
    second = sub.client.webhook_subscriptions.create(
        target_url=second_receiver.url + "/second", subscribed_events=[STATUS]
    )
    second_receiver.verify_with(second.signing_secret)

    cli("lines", "flag", NUMBER)

    first_requests = sub.receiver.wait_for_count(3)
    [second_request] = second_receiver.wait_for_count(1)
    ids = {r.webhook_id for r in first_requests} | {second_request.webhook_id}
    assert ids == {first_requests[0].envelope["event_id"]}
    assert sub.receiver.verification_failures == second_receiver.verification_failures == []


def test_per_line_order_holds_while_the_receiver_fails_first_attempts(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    """flag, unflag, flag: each event's first attempt fails; the receiver still sees them in order."""
    seen: set[str] = set()

    def fail_first_attempt(request: Received, _count: int) -> Reply:
        if request.webhook_id not in seen:
            seen.add(request.webhook_id)
            return Reply(500)
        return Reply(200)

    sub = subscribe(fail_first_attempt)

    cli("lines", "flag", NUMBER)
    cli("lines", "unflag", NUMBER)
    cli("lines", "flag", NUMBER)

    requests = sub.receiver.wait_for_count(6)
    statuses = [r.envelope["data"]["new_status"] for r in requests]
    assert statuses == ["FLAGGED", "FLAGGED", "ACTIVE", "ACTIVE", "FLAGGED", "FLAGGED"]
    event_ids = [r.webhook_id for r in requests]
    assert event_ids[0::2] == event_ids[1::2]  # each event: its failed attempt, then its retry
    assert len(set(event_ids)) == 3
    assert sub.receiver.verification_failures == []


def test_different_lines_do_not_wait_for_each_other(subscribe: Callable[..., Subscribed], cli: Any) -> None:
    """A line whose event keeps failing does not hold up another line's events."""

    def stuck_line(request: Received, _count: int) -> Reply:
        return Reply(500 if request.envelope["data"]["phone_number"] == NUMBER else 200)

    sub = subscribe(stuck_line, webhook_retry_delays="0.5,0.5,0.5,0.5,0.5")
    cli("lines", "assign", "+12025550124", "--partner", sub.partner.id)

    cli("lines", "flag", NUMBER)
    cli("lines", "flag", "+12025550124")
    cli("lines", "unflag", "+12025550124")

    requests = sub.receiver.wait_for(
        lambda seen: sum(r.envelope["data"]["phone_number"] == "+12025550124" for r in seen) == 2,
        what="both events about the healthy line",
    )
    stuck = [r for r in requests if r.envelope["data"]["phone_number"] == NUMBER]
    assert 1 <= len(stuck) < 6  # still retrying: the other line went ahead of it


def test_serve_dispatches_in_process_and_stops_cleanly(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    cli: Any,
) -> None:
    """An event committed while no dispatcher runs is delivered once a server with one starts."""
    receiver = make_receiver()
    partner = make_partner("Acme")
    cli("lines", "assign", NUMBER, "--partner", partner.id)
    linq(partner.api_key).webhook_subscriptions.create(
        target_url=receiver.url + "/", subscribed_events=[STATUS]
    )
    cli("lines", "flag", NUMBER)  # the shared test server has no dispatcher: this waits in the outbox

    app = start_app(**FAST)
    receiver.wait_for_count(1)
    app.stop()

    assert not app.thread.is_alive()


def test_a_change_that_rolls_back_emits_nothing(
    subscribe: Callable[..., Subscribed], settings: Settings, cli: Any
) -> None:
    sub = subscribe()

    async def flag_then_roll_back() -> None:
        engine = create_engine(settings, pool=False)
        async with create_sessionmaker(engine)() as session:
            await lines.flag_line(session, NUMBER, actor="test")  # writes the outbox row...
            await session.rollback()  # ...and takes it back with the change
        await engine.dispose()

    asyncio.run(flag_then_roll_back())
    cli("lines", "unflag", NUMBER)  # nothing to clear: the flag never happened
    cli("lines", "flag", NUMBER, "--reason", "committed")

    [request] = sub.receiver.wait_for_count(1)
    assert request.envelope["data"]["previous_status"] == "ACTIVE"
    assert request.envelope["data"]["new_status"] == "FLAGGED"
    [delivery] = deliveries(cli, sub.subscription.id)  # the only event there ever was
    assert delivery["event_id"] == request.webhook_id


def test_contact_card_events_are_delivered_and_unwrap_to_the_clients_types(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    sub = subscribe(events=["contact_card.created", "contact_card.updated", "contact_card.deleted"])
    sub.client.contact_card.create(first_name="Acme", phone_number=NUMBER)
    sub.client.contact_card.update(phone_number=NUMBER, image_url="https://cdn.example.com/acme.png")
    cli("lines", "release", NUMBER)

    requests = sub.receiver.wait_for_count(3)
    assert sub.receiver.verification_failures == []
    unwrapped = [
        sub.client.webhooks.unwrap(r.body.decode(), headers=r.headers, key=sub.subscription.signing_secret)
        for r in requests
    ]
    # The clients' union is not discriminated (every account event has one shape): compare the types.
    assert [event.event_type for event in unwrapped] == [
        "contact_card.created",
        "contact_card.updated",
        "contact_card.deleted",
    ]
    created, updated, deleted = unwrapped
    for request, model in zip(
        requests,
        (ContactCardCreatedWebhookEvent, ContactCardUpdatedWebhookEvent, ContactCardDeletedWebhookEvent),
        strict=True,
    ):
        model.model_validate(request.envelope)
    assert created.data.contact_card is not None and created.data.contact_card.first_name == "Acme"
    assert updated.data.change is not None and updated.data.change.image_url is not None
    assert updated.data.change.image_url.to == "https://cdn.example.com/acme.png"
    assert deleted.data.phone_number == NUMBER and deleted.data.actor.type == "system"


def test_typing_and_shared_card_events_are_delivered_and_unwrap(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    sub = subscribe(events=["chat.typing_indicator.started", "contact_card.received"])
    other = "+12025550188"
    chat = sub.client.chats.create(
        from_=NUMBER, to=[other], message={"parts": [{"type": "text", "value": "Hi"}]}
    ).chat
    cli("sim", "typing", "--line", NUMBER, "--from", other)
    cli("sim", "contact-card", "--line", NUMBER, "--from", other, "--first-name", "Ada")

    requests = sub.receiver.wait_for_count(2)
    assert sub.receiver.verification_failures == []
    typing, card = (
        sub.client.webhooks.unwrap(r.body.decode(), headers=r.headers, key=sub.subscription.signing_secret)
        for r in requests
    )
    assert typing.event_type == "chat.typing_indicator.started"
    # Each payload validates as the client's own class for its type (the union above takes the first fit).
    ChatTypingIndicatorStartedWebhookEvent.model_validate(requests[0].envelope)
    ContactCardReceivedWebhookEvent.model_validate(requests[1].envelope)
    assert requests[0].envelope["data"]["chat_id"] == chat.id
    assert requests[0].envelope["data"]["actor_handle"]["handle"] == other
    assert card.event_type == "contact_card.received"
    assert requests[1].envelope["data"]["sender_handle"] == other
