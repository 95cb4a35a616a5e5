"""Operator tooling: the delivery log, resend and replay, through the CLI and the admin API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import ADMIN_TOKEN
from tests.webhooks.conftest import NUMBER, Subscribed, deliveries, wait_for_deliveries
from tests.webhooks.receiver import Reply


def admin_client(sub: Subscribed) -> httpx.Client:
    return httpx.Client(
        base_url=f"{sub.app.url}/admin/v1/webhooks",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )


def test_delivery_log_is_the_same_in_the_cli_and_the_admin_api(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    sub = subscribe(lambda _request, count: Reply(500) if count == 0 else Reply(200))
    cli("lines", "flag", NUMBER)
    sub.receiver.wait_for_count(2)
    from_cli = wait_for_deliveries(
        cli, sub.subscription.id, lambda found: found and found[0]["state"] == "succeeded", "success"
    )

    with admin_client(sub) as admin:
        response = admin.get("/deliveries", params={"subscription_id": sub.subscription.id})
        failed_only = admin.get(
            "/deliveries", params={"subscription_id": sub.subscription.id, "state": "failed"}
        )
        unauthorised = httpx.get(f"{sub.app.url}/admin/v1/webhooks/deliveries?subscription_id=x")

    assert response.status_code == 200
    assert response.json()["deliveries"] == from_cli
    assert [a["status_code"] for a in from_cli[0]["attempt_log"]] == [500, 200]
    assert failed_only.json()["deliveries"] == []
    assert unauthorised.status_code == 401
    human = cli.run("webhooks", "deliveries", "--subscription", sub.subscription.id)
    assert human.exit_code == 0
    assert "succeeded" in human.stdout and from_cli[0]["event_id"] in human.stdout


def test_resend_sends_the_same_event_again_with_the_same_webhook_id(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    sub = subscribe()
    cli("lines", "flag", NUMBER)
    [original] = sub.receiver.wait_for_count(1)

    queued = cli("webhooks", "resend", original.event_id)

    assert [d["kind"] for d in queued["deliveries"]] == ["resend"]
    _, again = sub.receiver.wait_for_count(2)
    assert again.webhook_id == original.webhook_id
    assert again.body == original.body
    assert sub.receiver.verification_failures == []
    with admin_client(sub) as admin:
        response = admin.post(f"/events/{original.event_id}/resend")
    assert response.status_code == 202
    assert sub.receiver.wait_for_count(3)[2].webhook_id == original.webhook_id


def test_resend_of_an_unknown_event_fails_clearly(subscribe: Callable[..., Subscribed], cli: Any) -> None:
    sub = subscribe()
    missing = str(uuid.uuid4())

    result = cli.run("webhooks", "resend", missing, "--json")

    assert result.exit_code != 0
    assert result.stdout == ""
    assert f"No event with id {missing}" in result.stderr
    with admin_client(sub) as admin:
        response = admin.post(f"/events/{missing}/resend")
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_replay_sends_what_an_inactive_subscription_missed_in_order_and_skips_what_it_got(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    sub = subscribe()
    cli("lines", "flag", NUMBER)
    [delivered] = sub.receiver.wait_for_count(1)
    sub.client.webhook_subscriptions.update(sub.subscription.id, is_active=False)
    cli("lines", "unflag", NUMBER)
    cli("lines", "flag", NUMBER)
    refused = cli.run("webhooks", "replay", "--subscription", sub.subscription.id, "--since", "1h", "--json")
    assert refused.exit_code != 0
    assert "inactive" in refused.stderr

    sub.client.webhook_subscriptions.update(sub.subscription.id, is_active=True)
    queued = cli("webhooks", "replay", "--subscription", sub.subscription.id, "--since", "1h")

    assert [d["kind"] for d in queued["deliveries"]] == ["replay", "replay"]
    requests = sub.receiver.wait_for_count(3)
    assert [r.envelope["data"]["new_status"] for r in requests] == ["FLAGGED", "ACTIVE", "FLAGGED"]
    assert delivered.webhook_id not in {r.webhook_id for r in requests[1:]}
    assert sub.receiver.verification_failures == []
    with admin_client(sub) as admin:
        nothing_left = admin.post(
            "/replay", json={"subscription_id": sub.subscription.id, "since": "2000-01-01T00:00:00Z"}
        )
    assert nothing_left.status_code == 202
    assert nothing_left.json()["deliveries"] == []


def test_replay_rejects_a_since_that_is_not_a_time(subscribe: Callable[..., Subscribed], cli: Any) -> None:
    sub = subscribe()

    result = cli.run("webhooks", "replay", "--subscription", sub.subscription.id, "--since", "yesterday-ish")

    assert result.exit_code != 0
    assert "not a time" in result.stderr
    assert deliveries(cli, sub.subscription.id) == []


def test_operator_lists_subscriptions_with_their_state(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    sub = subscribe(path="/hook?version=2025-01-01")

    [listed] = cli("webhooks", "subscriptions", "--partner", sub.partner.id)["subscriptions"]
    with admin_client(sub) as admin:
        from_api = admin.get("/subscriptions", params={"partner_id": sub.partner.id}).json()["subscriptions"]

    assert listed == from_api[0]
    assert listed["webhook_version"] == "2025-01-01"
    assert listed["is_active"] is True
    assert "signing_secret" not in listed
    assert "signing_secret_encrypted" not in listed
