"""Retry schedules and the 24-hour failure window, on a manual clock: minutes and days pass instantly.

The dispatcher runs here in the test's own event loop (`drain()` works until nothing is due), with a
clock the test moves forward; the receiver is still a real HTTP server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from linq import LinqAPIV3
from linq.types import WebhookSubscriptionDisabledWebhookEvent

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.settings import Settings
from phoneline.webhooks.models import WebhookSubscription
from phoneline.webhooks.tasks import WebhookDeliveries
from phoneline.worker import build_runner, retry_policy
from tests.conftest import PartnerAccount
from tests.webhooks.conftest import NUMBER, STATUS, deliveries
from tests.webhooks.receiver import Receiver, Reply


class ManualClock:
    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def drain(settings: Settings, clock: ManualClock, **hooks: Any) -> None:
    """Run webhook delivery until nothing is due at the clock's current time."""

    async def main() -> None:
        engine = create_engine(settings, pool=False)
        try:
            sessions = create_sessionmaker(engine)
            deliveries = WebhookDeliveries(
                settings, sessions, retry_policy(settings), on_failure_alert=hooks.get("on_failure_alert", [])
            )
            await build_runner(settings, sessions, [deliveries], clock=clock, worker_id="manual").drain()
        finally:
            await engine.dispose()

    asyncio.run(main())


def scheduled_gaps(delivery: dict[str, Any]) -> list[float]:
    """Seconds from each failed attempt to the retry it scheduled."""
    at = datetime.fromisoformat
    return [
        (at(a["next_attempt_at"]) - at(a["started_at"])).total_seconds()
        for a in delivery["attempt_log"]
        if a["next_attempt_at"] is not None
    ]


@pytest.fixture
def failing_subscription(
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    cli: Any,
) -> tuple[Receiver, Any]:
    receiver = make_receiver(lambda _request, _count: Reply(503))
    partner = make_partner("Acme")
    cli("lines", "assign", NUMBER, "--partner", partner.id)
    subscription = linq(partner.api_key).webhook_subscriptions.create(
        target_url=receiver.url + "/hook", subscribed_events=[STATUS]
    )
    return receiver, subscription


def test_default_schedule_is_ten_exponential_retries_over_about_25_minutes(
    settings: Settings, failing_subscription: tuple[Receiver, Any], cli: Any
) -> None:
    receiver, subscription = failing_subscription
    defaults = Settings(webhook_retry_jitter=0.0)
    assert len(defaults.webhook_retry_delays_s) == 10
    assert 24 * 60 <= sum(defaults.webhook_retry_delays_s) <= 26 * 60
    clock = ManualClock()
    cli("lines", "flag", NUMBER)

    drain(defaults, clock)
    for delay in defaults.webhook_retry_delays_s:
        clock.advance(delay - 0.01)
        drain(defaults, clock)  # not due yet: nothing is sent early
        assert len(receiver.snapshot()) == 1 + defaults.webhook_retry_delays_s.index(delay)
        clock.advance(0.01)
        drain(defaults, clock)

    assert len(receiver.snapshot()) == 11
    [delivery] = deliveries(cli, subscription.id)
    assert delivery["state"] == "failed"
    assert "gave up after 11 attempts" in delivery["last_error"]
    gaps = scheduled_gaps(delivery)
    assert gaps == pytest.approx(list(defaults.webhook_retry_delays_s), abs=0.01)
    assert delivery["attempt_log"][-1]["next_attempt_at"] is None


def test_jitter_keeps_each_delay_within_its_band(
    settings: Settings, failing_subscription: tuple[Receiver, Any], cli: Any
) -> None:
    _receiver, subscription = failing_subscription
    jittered = Settings(webhook_retry_delays="100,100,100,100,100,100", webhook_retry_jitter=0.2)
    clock = ManualClock()
    cli("lines", "flag", NUMBER)

    for _ in range(6):
        drain(jittered, clock)
        clock.advance(121)
    drain(jittered, clock)

    [delivery] = deliveries(cli, subscription.id)
    gaps = scheduled_gaps(delivery)
    assert len(gaps) == 6
    assert all(80 <= gap <= 120 for gap in gaps)
    assert len(set(gaps)) > 1  # jittered, not fixed


def test_a_subscription_failing_for_24_hours_is_deactivated_after_warnings_at_50_and_90_percent(
    settings: Settings, failing_subscription: tuple[Receiver, Any], cli: Any, linq: Callable[[str], LinqAPIV3]
) -> None:
    receiver, subscription = failing_subscription
    quick = Settings(webhook_retry_delays="", webhook_retry_jitter=0.0)  # every delivery fails at once
    clock = ManualClock()
    alerts: list[tuple[str, int]] = []

    async def record(_session: Any, failing: WebhookSubscription, level: int, _now: datetime) -> None:
        alerts.append((str(failing.id), level))

    def fail_once_at(hours: float) -> None:
        clock.current = start + timedelta(hours=hours)
        cli("lines", "flag" if len(receiver.snapshot()) % 2 == 0 else "unflag", NUMBER)
        drain(quick, clock, on_failure_alert=[record])

    start = clock.now()
    fail_once_at(0)
    fail_once_at(11.9)
    assert alerts == []
    fail_once_at(12.1)
    assert alerts == [(subscription.id, 50)]
    fail_once_at(20)
    assert alerts == [(subscription.id, 50)]
    fail_once_at(21.7)
    assert alerts == [(subscription.id, 50), (subscription.id, 90)]
    fail_once_at(23.9)
    assert [state["state"] for state in deliveries(cli, subscription.id)] == ["failed"] * 6
    fail_once_at(24.1)

    assert alerts[-1] == (subscription.id, 100)
    [operator_view] = cli("webhooks", "subscriptions")["subscriptions"]
    assert operator_view["is_active"] is False
    assert "24 hours" in operator_view["deactivated_reason"]


def test_one_success_resets_the_failure_window(
    settings: Settings,
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    cli: Any,
) -> None:
    answers = iter([503, 200, 503, 503])
    receiver = make_receiver(lambda _request, _count: Reply(next(answers)))
    partner = make_partner("Acme")
    cli("lines", "assign", NUMBER, "--partner", partner.id)
    subscription = linq(partner.api_key).webhook_subscriptions.create(
        target_url=receiver.url + "/hook", subscribed_events=[STATUS]
    )
    quick = Settings(webhook_retry_delays="", webhook_retry_jitter=0.0)
    clock = ManualClock()
    start = clock.now()
    for hours, action in ((0, "flag"), (20, "unflag"), (21, "flag"), (44, "unflag")):
        clock.current = start + timedelta(hours=hours)
        cli("lines", action, NUMBER)
        drain(quick, clock)

    # Failing since hour 21 (the success at hour 20 ended the earlier run): 23 hours, still active.
    assert len(receiver.snapshot()) == 4
    assert linq(partner.api_key).webhook_subscriptions.retrieve(subscription.id).is_active is True


def test_the_failure_window_disable_reaches_the_partners_other_subscriptions_as_a_system_change(
    settings: Settings,
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    cli: Any,
) -> None:
    failing_inbox, watcher_inbox = make_receiver(lambda _request, _count: Reply(503)), make_receiver()
    partner = make_partner("Acme")
    cli("lines", "assign", NUMBER, "--partner", partner.id)
    client = linq(partner.api_key)
    failing = client.webhook_subscriptions.create(
        target_url=failing_inbox.url + "/hook", subscribed_events=[STATUS]
    )
    watcher = client.webhook_subscriptions.create(
        target_url=watcher_inbox.url + "/watch", subscribed_events=["webhook_subscription.disabled"]
    )
    quick = Settings(webhook_retry_delays="", webhook_retry_jitter=0.0)
    clock = ManualClock()
    start = clock.now()
    for hours, action in ((0, "flag"), (24.1, "unflag")):
        clock.current = start + timedelta(hours=hours)
        cli("lines", action, NUMBER)
        drain(quick, clock)

    # Signed 24 hours ahead of the wall clock, so no verifier would accept it here; the type is checked.
    [request] = watcher_inbox.snapshot()
    assert request.headers["x-webhook-subscription-id"] == watcher.id
    event = WebhookSubscriptionDisabledWebhookEvent.model_validate(request.envelope)
    assert event.data.webhook_subscription is not None
    assert event.data.webhook_subscription.id == failing.id
    assert (event.data.actor.type, event.data.origin) == ("system", "linq")
    assert "every delivery failed for 24 hours" in event.data.summary
    assert len(failing_inbox.snapshot()) == 2
