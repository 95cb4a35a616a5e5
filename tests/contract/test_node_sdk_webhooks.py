"""The official npm client `@linqapp/sdk`, unmodified: webhook subscriptions, and unwrapping a real
delivery made by phoneline (node --test)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.conftest import PartnerAccount
from tests.contract.node_runner import run_node_tests
from tests.webhooks.conftest import FAST, App, make_receiver, start_app
from tests.webhooks.receiver import Receiver

__all__ = ["make_receiver", "start_app"]  # fixtures used below

NUMBER = "+12025550101"


def test_node_sdk_webhook_subscriptions_contract(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Any,
    test_env: dict[str, str],
) -> None:
    app = start_app(**FAST)
    receiver = make_receiver()
    partner_a = make_partner("Acme")
    partner_b = make_partner("Globex")
    cli("lines", "assign", NUMBER, "--partner", partner_a.id)
    subscription = app.linq(partner_a.api_key).webhook_subscriptions.create(
        target_url=receiver.url + "/hook", subscribed_events=["phone_number.status_updated"]
    )
    cli("lines", "flag", NUMBER)
    [delivery] = receiver.wait_for_count(1)
    # An account event: a subscription to webhook_subscription.created hears its own creation.
    account_receiver = make_receiver()
    watcher = app.linq(partner_a.api_key).webhook_subscriptions.create(
        target_url=account_receiver.url + "/account", subscribed_events=["webhook_subscription.created"]
    )
    [account_delivery] = account_receiver.wait_for_count(1)

    passed = run_node_tests(
        "webhook_subscriptions.test.mjs",
        test_env,
        {
            "LINQ_API_V3_BASE_URL": app.api_url,
            "PARTNER_A_KEY": partner_a.api_key,
            "PARTNER_B_KEY": partner_b.api_key,
            "DELIVERY_BODY": delivery.body.decode(),
            "DELIVERY_HEADERS": json.dumps(delivery.headers),
            "DELIVERY_SECRET": subscription.signing_secret,
            "ACCOUNT_DELIVERY_BODY": account_delivery.body.decode(),
            "ACCOUNT_DELIVERY_HEADERS": json.dumps(account_delivery.headers),
            "ACCOUNT_DELIVERY_SECRET": watcher.signing_secret,
            "ACCOUNT_SUBSCRIPTION_ID": watcher.id,
        },
    )
    assert passed == 5, "expected 5 passing node tests (the delivery tests ran, not skipped)"
