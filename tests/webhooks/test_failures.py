"""Failure paths, one per test: what the receiver sees and what the delivery log records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linq import LinqAPIV3

from tests.conftest import PartnerAccount, free_port
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


def finished(found: list[dict[str, Any]], count: int = 1) -> bool:
    return len(found) >= count and all(d["state"] != "pending" for d in found)


def test_500_then_200_is_retried_and_succeeds_with_both_attempts_recorded(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    sub = subscribe(lambda _request, count: Reply(500, body=b"boom") if count == 0 else Reply(200))

    cli("lines", "flag", NUMBER)

    first, second = sub.receiver.wait_for_count(2)
    assert first.webhook_id == second.webhook_id
    assert first.body == second.body
    assert sub.receiver.verification_failures == []
    [delivery] = wait_for_deliveries(cli, sub.subscription.id, finished, "the delivery to finish")
    assert delivery["state"] == "succeeded"
    assert [(a["status_code"], a["outcome"]) for a in delivery["attempt_log"]] == [
        (500, "retry"),
        (200, "succeeded"),
    ]
    assert delivery["attempt_log"][0]["response_excerpt"] == "boom"
    assert delivery["attempt_log"][0]["next_attempt_at"] is not None


def test_429_with_retry_after_waits_at_least_that_long(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    sub = subscribe(
        lambda _request, count: Reply(429, headers={"Retry-After": "1"}) if count == 0 else Reply(200)
    )

    cli("lines", "flag", NUMBER)

    first, second = sub.receiver.wait_for_count(2)
    # The configured delay is 0.05 s; the receiver asked for 1 s.
    assert second.at - first.at >= 0.95
    [delivery] = wait_for_deliveries(cli, sub.subscription.id, finished, "the delivery to finish")
    assert [a["status_code"] for a in delivery["attempt_log"]] == [429, 200]


def test_retry_after_is_capped(subscribe: Callable[..., Subscribed], cli: Any) -> None:
    sub = subscribe(
        lambda _request, count: Reply(503, headers={"Retry-After": "3600"}) if count == 0 else Reply(200),
        webhook_retry_after_cap_s=0.2,
    )

    cli("lines", "flag", NUMBER)

    first, second = sub.receiver.wait_for_count(2, timeout=10)
    assert 0.15 <= second.at - first.at < 5


def test_connection_refused_is_retried_until_retries_run_out(
    start_app: Callable[..., App], make_partner: Callable[[str], PartnerAccount], cli: Any
) -> None:
    app = start_app(**FAST)
    partner = make_partner("Acme")
    cli("lines", "assign", NUMBER, "--partner", partner.id)
    closed_port = free_port()  # nothing listens here
    subscription = app.linq(partner.api_key).webhook_subscriptions.create(
        target_url=f"http://127.0.0.1:{closed_port}/hook", subscribed_events=[STATUS]
    )

    cli("lines", "flag", NUMBER)

    [delivery] = wait_for_deliveries(cli, subscription.id, finished, "retries to run out")
    assert delivery["state"] == "failed"
    attempts = delivery["attempt_log"]
    assert len(attempts) == 4  # the first attempt and FAST's three retries
    assert all(a["status_code"] is None and "network error" in a["error"] for a in attempts)
    assert [a["outcome"] for a in attempts] == ["retry", "retry", "retry", "failed"]
    assert "gave up after 4 attempts" in delivery["last_error"]


def test_a_receiver_that_hangs_past_the_timeout_is_retried(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    sub = subscribe(
        lambda _request, count: Reply(200, delay_s=3) if count == 0 else Reply(200), webhook_timeout_s=0.3
    )

    cli("lines", "flag", NUMBER)

    first, second = sub.receiver.wait_for_count(2)
    assert first.webhook_id == second.webhook_id
    [delivery] = wait_for_deliveries(cli, sub.subscription.id, finished, "the delivery to finish")
    assert delivery["state"] == "succeeded"
    timed_out = delivery["attempt_log"][0]
    assert timed_out["error"] == "timed out after 0.3 s"
    assert 250 <= timed_out["latency_ms"] < 2000


def test_400_is_final_and_the_next_event_about_the_line_goes_ahead(
    subscribe: Callable[..., Subscribed], cli: Any
) -> None:
    def refuse_flags(request: Received, _count: int) -> Reply:
        return Reply(400 if request.envelope["data"]["new_status"] == "FLAGGED" else 200)

    sub = subscribe(refuse_flags)

    cli("lines", "flag", NUMBER)
    cli("lines", "unflag", NUMBER)

    requests = sub.receiver.wait_for_count(2)
    assert [r.envelope["data"]["new_status"] for r in requests] == ["FLAGGED", "ACTIVE"]
    found = wait_for_deliveries(cli, sub.subscription.id, lambda f: finished(f, 2), "both to finish")
    assert [(d["state"], d["attempts"]) for d in found] == [("failed", 1), ("succeeded", 1)]
    assert found[0]["attempt_log"][0]["outcome"] == "failed"
    assert len(sub.receiver.snapshot()) == 2  # the 400 was never retried


def test_410_deactivates_the_subscription_and_stops_deliveries(
    subscribe: Callable[..., Subscribed], make_receiver: Callable[..., Receiver], cli: Any
) -> None:
    sub = subscribe(lambda _request, _count: Reply(410))

    cli("lines", "flag", NUMBER)

    sub.receiver.wait_for_count(1)
    [delivery] = wait_for_deliveries(cli, sub.subscription.id, finished, "the delivery to finish")
    assert delivery["state"] == "failed"
    assert sub.client.webhook_subscriptions.retrieve(sub.subscription.id).is_active is False
    [operator_view] = cli("webhooks", "subscriptions", "--partner", sub.partner.id)["subscriptions"]
    assert "410" in operator_view["deactivated_reason"]

    witness = make_receiver()
    sub.client.webhook_subscriptions.create(target_url=witness.url + "/witness", subscribed_events=[STATUS])
    cli("lines", "unflag", NUMBER)

    # Once the witness has the event it was fanned out, and not to the deactivated subscription.
    witness.wait_for_count(1)
    assert len(deliveries(cli, sub.subscription.id)) == 1
    assert len(sub.receiver.snapshot()) == 1


def test_a_huge_response_body_is_cut_at_64_kib(subscribe: Callable[..., Subscribed], cli: Any) -> None:
    sub = subscribe(lambda _request, _count: Reply(200, stream_bytes=20 * 1024 * 1024))

    cli("lines", "flag", NUMBER)

    [delivery] = wait_for_deliveries(cli, sub.subscription.id, finished, "the delivery to finish")
    assert delivery["state"] == "succeeded"
    [attempt] = delivery["attempt_log"]
    assert len(attempt["response_excerpt"]) == 64 * 1024
    assert set(attempt["response_excerpt"]) == {"x"}


def test_a_redirect_is_not_followed(subscribe: Callable[..., Subscribed], cli: Any) -> None:
    def redirect(request: Received, _count: int) -> Reply:
        if request.path == "/hook":
            return Reply(307, headers={"Location": "/elsewhere"})
        return Reply(200)

    sub = subscribe(redirect)

    cli("lines", "flag", NUMBER)

    [delivery] = wait_for_deliveries(cli, sub.subscription.id, finished, "the delivery to finish")
    assert delivery["state"] == "failed"
    assert delivery["attempt_log"][0]["status_code"] == 307
    assert "not followed" in delivery["attempt_log"][0]["error"]
    assert [r.path for r in sub.receiver.snapshot()] == ["/hook"]


def test_a_target_resolving_to_a_private_address_is_refused_at_delivery_without_the_override(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    cli: Any,
) -> None:
    """Saved while the override was on (the shared test server has it); refused when it is sent."""
    receiver = make_receiver()
    partner = make_partner("Acme")
    cli("lines", "assign", NUMBER, "--partner", partner.id)
    subscription = linq(partner.api_key).webhook_subscriptions.create(
        target_url=f"https://localhost:{receiver.url.rsplit(':', 1)[1]}/hook", subscribed_events=[STATUS]
    )
    start_app(**{**FAST, "allow_private_webhook_targets": False, "webhook_retry_delays": "0.05"})

    cli("lines", "flag", NUMBER)

    [delivery] = wait_for_deliveries(cli, subscription.id, finished, "the delivery to finish")
    assert delivery["state"] == "failed"
    for attempt in delivery["attempt_log"]:
        assert attempt["status_code"] is None
        assert attempt["error"].startswith("refused: ")
        assert "resolves to a loopback, private" in attempt["error"]
    assert receiver.snapshot() == []
