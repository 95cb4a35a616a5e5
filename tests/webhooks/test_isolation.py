"""One partner's unreachable endpoint does not slow another partner's deliveries; its own events wait
behind its breaker, are never lost, and still arrive in order per line."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from tests.conftest import PartnerAccount, wait_until
from tests.webhooks.conftest import FAST, STATUS, App
from tests.webhooks.receiver import Received, Receiver, Reply

X_LINES = [f"+1202555{2000 + i:04d}" for i in range(12)]
Y_LINE = "+12025559990"
X_TIMEOUT_S = 3.0


def by_line(requests: list[Received]) -> dict[str, list[str]]:
    """Each line's statuses in the order first received."""
    first_seen: dict[str, Received] = {}
    for request in requests:
        first_seen.setdefault(request.webhook_id, request)
    lines: dict[str, list[str]] = {}
    for request in first_seen.values():
        data = request.envelope["data"]
        lines.setdefault(data["phone_number"], []).append(data["new_status"])
    return lines


def test_a_hanging_subscription_does_not_delay_another_partners_deliveries(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Any,
) -> None:
    answering = threading.Event()
    # X's endpoint hangs past the attempt timeout until it is told to answer.
    x_receiver = make_receiver(
        lambda _request, _count: Reply(200) if answering.is_set() else Reply(200, delay_s=X_TIMEOUT_S + 1)
    )
    y_receiver = make_receiver()
    app = start_app(
        **{
            **FAST,
            "webhook_retry_delays": ",".join(["0.2"] * 20),
            "webhook_timeout_s": X_TIMEOUT_S,
            "webhook_concurrency": 4,
            "webhook_subscription_concurrency": 2,
            "webhook_breaker_failures": 3,
            "webhook_breaker_cooldown_s": 1.0,
            "webhook_breaker_max_cooldown_s": 2.0,
        }
    )
    x, y = make_partner("X"), make_partner("Y")
    for number in X_LINES:
        cli("lines", "assign", number, "--partner", x.id)
    cli("lines", "assign", Y_LINE, "--partner", y.id)
    x_subscription = app.linq(x.api_key).webhook_subscriptions.create(
        target_url=x_receiver.url + "/hook", subscribed_events=[STATUS]
    )
    y_subscription = app.linq(y.api_key).webhook_subscriptions.create(
        target_url=y_receiver.url + "/hook", subscribed_events=[STATUS]
    )
    x_receiver.verify_with(x_subscription.signing_secret)
    y_receiver.verify_with(y_subscription.signing_secret)

    for number in X_LINES:  # every X line has an event waiting on the hanging endpoint
        cli("lines", "flag", number)
    x_receiver.wait_for_count(2)  # X's attempts are in flight, as many as X may have

    # Y's events go out at once though X's endpoint holds its attempts for the whole timeout.
    for round_number in range(6):
        started = time.monotonic()
        cli("lines", "flag" if round_number % 2 == 0 else "unflag", Y_LINE)
        [arrived] = y_receiver.wait_for_count(round_number + 1, timeout=X_TIMEOUT_S * 2)[round_number:]
        assert arrived.at - started < X_TIMEOUT_S / 2, f"Y's event {round_number} waited for X's endpoint"

    # X's endpoint kept timing out: its breaker is open and the operator sees it.
    def breaker_open() -> bool:
        status = cli("jobs", "status")
        return x_subscription.id in {b["subscription_id"] for b in status["open_breakers"]}

    wait_until(breaker_open, timeout=20, what="X's breaker to open")

    for number in X_LINES:
        cli("lines", "unflag", number)
    answering.set()
    # Delayed, never lost, and in order per line once the endpoint answers again.
    requests = x_receiver.wait_for(
        lambda seen: len({r.webhook_id for r in seen}) >= 2 * len(X_LINES), timeout=60, what="every X event"
    )
    assert by_line(requests) == {number: ["FLAGGED", "ACTIVE"] for number in X_LINES}
    assert by_line(y_receiver.snapshot()) == {Y_LINE: ["FLAGGED", "ACTIVE"] * 3}
    assert x_receiver.verification_failures == y_receiver.verification_failures == []
    wait_until(lambda: not breaker_open(), timeout=20, what="X's breaker to close after an answer")
