"""`webhook_subscription.*` account events: each change a partner (or phoneline) makes to a subscription
reaches the partner's subscriptions that listen for it, and unwraps as the official client's own type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linq import LinqAPIV3
from linq.types import (
    WebhookSubscriptionCreatedWebhookEvent,
    WebhookSubscriptionDeletedWebhookEvent,
    WebhookSubscriptionDisabledWebhookEvent,
    WebhookSubscriptionEnabledWebhookEvent,
    WebhookSubscriptionEventsUpdatedWebhookEvent,
    WebhookSubscriptionPhoneNumbersUpdatedWebhookEvent,
    WebhookSubscriptionRoutingHeadersClearedWebhookEvent,
    WebhookSubscriptionRoutingHeadersSetWebhookEvent,
    WebhookSubscriptionTargetURLChangedWebhookEvent,
)
from pydantic import BaseModel

from tests.conftest import PartnerAccount
from tests.webhooks.conftest import FAST, NUMBER, STATUS, App, deliveries
from tests.webhooks.receiver import Received, Receiver, Reply

CLIENT_TYPES: dict[str, type[BaseModel]] = {
    "webhook_subscription.created": WebhookSubscriptionCreatedWebhookEvent,
    "webhook_subscription.deleted": WebhookSubscriptionDeletedWebhookEvent,
    "webhook_subscription.target_url_changed": WebhookSubscriptionTargetURLChangedWebhookEvent,
    "webhook_subscription.enabled": WebhookSubscriptionEnabledWebhookEvent,
    "webhook_subscription.disabled": WebhookSubscriptionDisabledWebhookEvent,
    "webhook_subscription.events.updated": WebhookSubscriptionEventsUpdatedWebhookEvent,
    "webhook_subscription.phone_numbers.updated": WebhookSubscriptionPhoneNumbersUpdatedWebhookEvent,
    "webhook_subscription.routing_headers_set": WebhookSubscriptionRoutingHeadersSetWebhookEvent,
    "webhook_subscription.routing_headers_cleared": WebhookSubscriptionRoutingHeadersClearedWebhookEvent,
}
SUBSCRIPTION_EVENTS = list(CLIENT_TYPES)


def unwrapped(client: LinqAPIV3, secret: str, requests: list[Received]) -> dict[tuple[str, str], Any]:
    """Each request verified by the client's unwrap and validated as its type's own client class (the
    union unwrap returns cannot tell account events apart), keyed by (subscription id, event type)."""
    events: dict[tuple[str, str], Any] = {}
    for request in requests:
        event = client.webhooks.unwrap(request.body.decode(), headers=request.headers, key=secret)
        typed: Any = CLIENT_TYPES[event.event_type].model_validate(request.envelope)
        key = (typed.data.webhook_subscription.id, event.event_type)
        assert key not in events, f"{key} delivered twice"
        events[key] = typed
    return events


def watch(app: App, client: LinqAPIV3, receiver: Receiver, **filters: Any) -> Any:
    subscription = client.webhook_subscriptions.create(
        target_url=receiver.url + "/watch", subscribed_events=SUBSCRIPTION_EVENTS, **filters
    )
    receiver.verify_with(subscription.signing_secret)
    return subscription


def test_the_event_catalogue_lists_every_subscription_event(
    make_partner: Callable[[str], PartnerAccount], linq: Callable[[str], LinqAPIV3]
) -> None:
    listed = linq(make_partner("Acme").api_key).webhook_events.list().events

    assert set(SUBSCRIPTION_EVENTS) <= set(listed)


def test_every_change_to_a_subscription_reaches_the_watching_one_as_the_clients_type(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Any,
) -> None:
    app = start_app(**FAST)
    partner = make_partner("Acme")
    client = app.linq(partner.api_key)
    watcher_inbox, other_inbox = make_receiver(), make_receiver()
    watcher = watch(app, client, watcher_inbox)

    # Credentials, query string and fragment never show in an event.
    first_url = other_inbox.url.replace("http://", "http://user:pw@") + "/a?version=2025-01-01&token=s3cret"
    other = client.webhook_subscriptions.create(
        target_url=first_url, subscribed_events=[STATUS], routing_key_header="X-Shard"
    )
    client.webhook_subscriptions.update(other.id, target_url=other_inbox.url + "/b")
    client.webhook_subscriptions.update(
        other.id, subscribed_events=[STATUS, "phone_number.assigned"], phone_numbers=[NUMBER]
    )
    client.webhook_subscriptions.update(other.id, routing_id_header="X-Chat", routing_key_header="X-Shard")
    client.webhook_subscriptions.update(other.id, routing_id_header=None, routing_key_header=None)
    client.webhook_subscriptions.update(other.id, is_active=False)
    client.webhook_subscriptions.update(other.id, is_active=True)
    client.webhook_subscriptions.delete(other.id)

    requests = watcher_inbox.wait_for_count(10)
    assert watcher_inbox.verification_failures == []
    events = unwrapped(client, watcher.signing_secret, requests)
    assert len(events) == 10
    assert len(deliveries(cli, watcher.id)) == 10  # no more than these
    for event in events.values():
        assert event.partner_id == partner.id
        assert event.data.actor.type == "api" and event.data.origin == "api"
        assert event.data.phone_number is None  # about no line
    # A subscription receives its own creation (as on Linq).
    own = events[(watcher.id, "webhook_subscription.created")]
    assert own.data.webhook_subscription.events == SUBSCRIPTION_EVENTS

    def of(event_type: str) -> Any:
        return events[(other.id, f"webhook_subscription.{event_type}")].data

    base = other_inbox.url
    created = of("created")
    assert created.webhook_subscription.target_url == base + "/a"
    assert created.webhook_subscription.events == [STATUS]
    assert created.change is None
    moved = of("target_url_changed")
    assert (moved.change.from_, moved.change.to) == (base + "/a", base + "/b")
    assert moved.webhook_subscription.target_url == base + "/b"
    assert "s3cret" not in str([request.body for request in requests])
    listening = of("events.updated").change
    assert (listening.from_, listening.to) == ([STATUS], [STATUS, "phone_number.assigned"])
    numbers = of("phone_numbers.updated").change
    assert (numbers.from_, numbers.to) == (None, [NUMBER])
    headers_set = of("routing_headers_set").change
    assert headers_set.from_ == {"routing_id_header": None, "routing_key_header": "X-Shard"}
    assert headers_set.to == {"routing_id_header": "X-Chat", "routing_key_header": "X-Shard"}
    cleared = of("routing_headers_cleared").change
    assert (cleared.from_, cleared.to) == (headers_set.to, None)
    for event_type in ("disabled", "enabled", "deleted"):
        assert of(event_type).change is None
        assert of(event_type).webhook_subscription.target_url == base + "/b"
    assert other_inbox.snapshot() == []  # the other subscription listens to none of these


def test_an_update_that_changes_nothing_emits_nothing(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Any,
) -> None:
    app = start_app(**FAST)
    client = app.linq(make_partner("Acme").api_key)
    inbox = make_receiver()
    watcher = watch(app, client, inbox)
    target = "https://hooks.example.com/same"
    other = client.webhook_subscriptions.create(target_url=target, subscribed_events=[STATUS])

    client.webhook_subscriptions.update(
        other.id, target_url=target, subscribed_events=[STATUS], phone_numbers=None, is_active=True
    )
    client.webhook_subscriptions.update(other.id, routing_id_header=None)
    client.webhook_subscriptions.update(other.id, is_active=False)

    requests = inbox.wait_for_count(3)
    events = unwrapped(client, watcher.signing_secret, requests)
    assert len(deliveries(cli, watcher.id)) == 3  # the pause, the last event, is fanned out: all are
    # The watcher's and the other's creation, then the pause: the unchanged updates said nothing.
    assert sorted(events) == sorted(
        [
            (watcher.id, "webhook_subscription.created"),
            (other.id, "webhook_subscription.created"),
            (other.id, "webhook_subscription.disabled"),
        ]
    )


def test_deleted_and_disabled_subscriptions_do_not_receive_their_own_event(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Any,
) -> None:
    app = start_app(**FAST)
    client = app.linq(make_partner("Acme").api_key)
    paused_inbox, deleted_inbox, witness_inbox = make_receiver(), make_receiver(), make_receiver()
    # Each waits for its own creation to arrive, so it hears the later ones only: 3, 2 and 1.
    paused = watch(app, client, paused_inbox)
    paused_inbox.wait_for_count(1)
    deleted = watch(app, client, deleted_inbox)
    deleted_inbox.wait_for_count(1)
    witness = watch(app, client, witness_inbox)
    witness_inbox.wait_for_count(1)
    paused_inbox.wait_for_count(3)
    deleted_inbox.wait_for_count(2)

    client.webhook_subscriptions.update(paused.id, is_active=False)
    deleted_inbox.wait_for_count(3)  # the pause, heard while it still listens
    client.webhook_subscriptions.delete(deleted.id)

    requests = witness_inbox.wait_for_count(3)
    events = unwrapped(client, witness.signing_secret, requests)
    assert len(events) == 3
    assert (paused.id, "webhook_subscription.disabled") in events
    assert (deleted.id, "webhook_subscription.deleted") in events
    # Both events were fanned out by now (the witness has them): nothing was planned for the two.
    assert len(deliveries(cli, paused.id)) == 3
    assert len(deliveries(cli, deleted.id)) == 3
    assert len(paused_inbox.snapshot()) == 3


def test_a_line_filter_does_not_hold_back_events_about_no_line(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
) -> None:
    app = start_app(**FAST)
    client = app.linq(make_partner("Acme").api_key)
    inbox = make_receiver()
    watcher = watch(app, client, inbox, phone_numbers=[NUMBER])

    other = client.webhook_subscriptions.create(
        target_url="https://hooks.example.com/other", subscribed_events=[STATUS]
    )

    events = unwrapped(client, watcher.signing_secret, inbox.wait_for_count(2))
    assert (other.id, "webhook_subscription.created") in events


def test_a_410_disables_the_subscription_and_the_others_hear_it_from_phoneline(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Any,
) -> None:
    app = start_app(**FAST)
    partner = make_partner("Acme")
    cli("lines", "assign", NUMBER, "--partner", partner.id)
    client = app.linq(partner.api_key)
    gone_inbox, inbox = make_receiver(lambda _request, _count: Reply(410)), make_receiver()
    watcher = watch(app, client, inbox)
    gone = client.webhook_subscriptions.create(
        target_url=gone_inbox.url + "/gone", subscribed_events=[STATUS]
    )

    cli("lines", "flag", NUMBER)

    requests = inbox.wait_for_count(3)  # both creations, then the disable
    events = unwrapped(client, watcher.signing_secret, requests)
    disabled = events[(gone.id, "webhook_subscription.disabled")].data
    assert (disabled.actor.type, disabled.origin) == ("system", "linq")
    assert "410 Gone" in disabled.summary
    assert client.webhook_subscriptions.retrieve(gone.id).is_active is False
