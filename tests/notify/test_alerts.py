"""Alert channels ("API Tooling"): Slack and PagerDuty against local fakes, through a real server."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.lines import service as lines
from phoneline.lines.models import HealthStatus
from phoneline.settings import Settings
from phoneline.worker import build_runner, delivery_tasks
from tests.conftest import ADMIN_TOKEN, PartnerAccount, wait_until
from tests.webhooks.conftest import FAST, NUMBER, STATUS, App
from tests.webhooks.receiver import Received, Receiver, Reply
from tests.webhooks.test_schedule import ManualClock

OTHER = "+12025550124"


def slack_text(request: Received) -> str:
    """Every line of a Slack message (its section blocks)."""
    body = json.loads(request.body)
    return "\n".join(block["text"]["text"] for block in body["blocks"] if block["type"] == "section")


@dataclass
class Alerting:
    app: App
    partner: PartnerAccount
    slack: Receiver
    pagerduty: Receiver

    def log(self, cli: Any) -> list[dict[str, Any]]:
        return list(reversed(cli("partners", "alerts", self.partner.id)["alerts"]))


@pytest.fixture
def alerting(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Any,
) -> Callable[..., Alerting]:
    def make(
        slack: Callable[[Received, int], Reply] | None = None, *, slack_on: str = "status", **overrides: Any
    ) -> Alerting:
        slack_fake = make_receiver(slack)
        pagerduty_fake = make_receiver(lambda _request, _count: Reply(202, body=b'{"status":"success"}'))
        app = start_app(**{**FAST, "pagerduty_events_url": pagerduty_fake.url + "/v2/enqueue", **overrides})
        partner = make_partner("Acme")
        cli("lines", "assign", NUMBER, "--partner", partner.id)
        cli("lines", "assign", OTHER, "--partner", partner.id)
        cli(
            "partners", "configure", partner.id,
            "--slack-webhook-url", slack_fake.url + "/services/T000/B000/XXXXXXXXXXXXXXXX",
            "--slack-on", slack_on,
            "--pagerduty-routing-key", "R0UT1NGKEY0123456789abcdefABCDEF",
            "--production-lines", NUMBER,
        )  # fmt: skip
        return Alerting(app, partner, slack_fake, pagerduty_fake)

    return make


def test_configure_keeps_credentials_encrypted_and_shows_them_redacted(
    make_partner: Callable[[str], PartnerAccount], cli: Any, admin: httpx.Client, settings: Settings
) -> None:
    partner = make_partner("Acme")

    shown = cli(
        "partners", "configure", partner.id,
        "--slack-webhook-url", "https://hooks.slack.com/services/T000/B000/SECRETSECRETSECRET",
        "--slack-on", "status,health",
        "--pagerduty-routing-key", "R0UT1NGKEY0123456789abcdefABCDEF",
        "--production-lines", "+1 202 555 0123, +12025550124",
    )  # fmt: skip

    assert shown["slack_webhook_url"] == "https://hooks.slack.com/…CRET"
    assert shown["pagerduty_routing_key"] == "…CDEF"
    assert shown["slack_on"] == "status,health"
    assert shown["production_lines"] == [NUMBER, OTHER]
    assert admin.get(f"/partners/{partner.id}/alerts").json() == shown
    cleared = admin.put(f"/partners/{partner.id}/alerts", json={"slack_webhook_url": "", "slack_on": "off"})
    assert cleared.status_code == 200
    assert cleared.json()["slack_webhook_url"] is None
    assert cleared.json()["pagerduty_routing_key"] == "…CDEF"  # untouched


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--slack-on", "sometimes", "not a Slack setting"),
        ("--slack-webhook-url", "ftp://hooks.slack.com/x", "https"),
        ("--pagerduty-routing-key", "not a key!", "routing key"),
        ("--production-lines", "12", "not a valid"),
    ],
)
def test_configure_refuses_bad_settings_and_changes_nothing(
    make_partner: Callable[[str], PartnerAccount], cli: Any, option: str, value: str, fragment: str
) -> None:
    partner = make_partner("Acme")
    cli("partners", "configure", partner.id, "--slack-on", "status,health")

    result = cli.run("partners", "configure", partner.id, option, value, "--json")

    assert result.exit_code != 0
    assert fragment in result.stderr
    assert cli("partners", "configure", partner.id)["slack_on"] == "status,health"


def test_admin_api_refuses_a_private_slack_url_without_the_override(
    start_app: Callable[..., App], make_partner: Callable[[str], PartnerAccount]
) -> None:
    app = start_app(allow_private_webhook_targets=False, webhook_dispatcher_enabled=False)
    partner = make_partner("Acme")

    response = httpx.put(
        f"{app.url}/admin/v1/partners/{partner.id}/alerts",
        json={"slack_webhook_url": "https://127.0.0.1/services/x"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )

    assert response.status_code == 400
    assert "127.0.0.1" in response.json()["error"]["message"]


def test_a_flag_sends_one_slack_message_with_the_line_old_new_time_and_a_link(
    alerting: Callable[..., Alerting], cli: Any
) -> None:
    setup = alerting(slack_coalesce_s=0.1)
    line_id = cli("lines", "show", NUMBER)["id"]

    cli("lines", "flag", NUMBER, "--reason", "carrier complaint")

    [message] = setup.slack.wait_for_count(1)
    text = slack_text(message)
    assert NUMBER in text
    assert "ACTIVE → *FLAGGED*" in text
    assert f"/dashboard/lines/{line_id}|View line>" in text
    assert re.search(r" at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", text)
    wait_until(lambda: setup.log(cli)[-1]["state"] == "sent", what="the alert to be sent")


def test_changes_within_the_window_are_combined_into_one_message(
    alerting: Callable[..., Alerting], cli: Any, settings: Settings
) -> None:
    setup = alerting(slack_coalesce_s=2.0)

    # Three changes, each its own transaction, well inside the window even on a busy machine.
    change_lines(settings, [("flag", NUMBER), ("flag", OTHER), ("unflag", NUMBER)])

    [message] = setup.slack.wait_for_count(1)
    text = slack_text(message)
    assert text.count("\n") == 2
    assert text.index(f"*{NUMBER}* status ACTIVE") < text.index(f"*{NUMBER}* status FLAGGED")
    assert f"*{OTHER}* status ACTIVE → *FLAGGED*" in text
    cli("lines", "unflag", OTHER)
    _, second = setup.slack.wait_for_count(2)
    assert f"*{OTHER}* status FLAGGED → *ACTIVE*" in slack_text(second)
    assert second.at - message.at >= 1.0  # never faster than Slack's one per second


def change_lines(settings: Settings, changes: list[tuple[str, str]]) -> None:
    """Flag or unflag lines through the service, one committed transaction per change."""

    async def main() -> None:
        engine = create_engine(settings, pool=False)
        for action, number in changes:
            async with create_sessionmaker(engine)() as session:
                change = lines.flag_line if action == "flag" else lines.unflag_line
                await change(session, number, actor="test")
                await session.commit()
        await engine.dispose()

    asyncio.run(main())


def set_health(settings: Settings, number: str, health: HealthStatus) -> None:
    async def main() -> None:
        engine = create_engine(settings, pool=False)
        async with create_sessionmaker(engine)() as session:
            line = await lines.require_line(session, number)
            await lines.set_health(session, line, health, actor="test")
            await session.commit()
        await engine.dispose()

    asyncio.run(main())


@pytest.mark.parametrize("slack_on", ["status", "status,health"])
def test_health_changes_reach_slack_only_when_asked_for(
    alerting: Callable[..., Alerting], cli: Any, settings: Settings, slack_on: str
) -> None:
    setup = alerting(slack_on=slack_on, slack_coalesce_s=0.5)

    set_health(settings, NUMBER, HealthStatus.AT_RISK)
    cli("lines", "flag", OTHER)

    # The flag comes after the health change, so once it is in, the health change was planned too.
    messages = setup.slack.wait_for(
        lambda seen: OTHER in "".join(slack_text(m) for m in seen), what="the flag's message"
    )
    text = "".join(slack_text(m) for m in messages)
    assert ("health HEALTHY → *AT_RISK*" in text) is (slack_on == "status,health")


def test_slack_off_sends_nothing(alerting: Callable[..., Alerting], cli: Any) -> None:
    setup = alerting(slack_on="off", slack_coalesce_s=0.1)

    cli("lines", "flag", NUMBER)

    setup.pagerduty.wait_for_count(1)  # the flag was planned (pages still go out)
    assert [a["channel"] for a in setup.log(cli)] == ["pagerduty"]
    assert setup.slack.snapshot() == []


def test_slack_429_is_retried_after_retry_after(alerting: Callable[..., Alerting], cli: Any) -> None:
    setup = alerting(
        lambda _request, count: (
            Reply(429, headers={"Retry-After": "1"}, body=b"rate_limited") if count == 0 else Reply(200)
        ),
        slack_coalesce_s=0.1,
    )

    cli("lines", "flag", NUMBER)

    first, second = setup.slack.wait_for_count(2)
    assert second.at - first.at >= 0.95
    assert slack_text(first) == slack_text(second)
    slack_alert = wait_until(
        lambda: next((a for a in setup.log(cli) if a["channel"] == "slack" and a["state"] == "sent"), None),
        what="the Slack alert to be sent",
    )
    assert slack_alert["attempts"] == 2


def test_slack_5xx_is_retried(alerting: Callable[..., Alerting], cli: Any) -> None:
    setup = alerting(lambda _request, count: Reply(503) if count < 2 else Reply(200), slack_coalesce_s=0.1)

    cli("lines", "flag", NUMBER)

    messages = setup.slack.wait_for_count(3)
    assert len({slack_text(m) for m in messages}) == 1


def test_production_line_pages_on_flag_and_resolves_when_active_again(
    alerting: Callable[..., Alerting], cli: Any
) -> None:
    setup = alerting(slack_coalesce_s=0.1)

    cli("lines", "flag", OTHER)  # not a production line: no page
    cli("lines", "flag", NUMBER)
    cli("lines", "unflag", NUMBER)

    trigger, resolve = setup.pagerduty.wait_for_count(2)
    assert trigger.path == resolve.path == "/v2/enqueue"
    trigger_body, resolve_body = json.loads(trigger.body), json.loads(resolve.body)
    assert trigger_body["event_action"] == "trigger"
    assert trigger_body["routing_key"] == "R0UT1NGKEY0123456789abcdefABCDEF"
    assert trigger_body["payload"]["severity"] == "critical"
    assert NUMBER in trigger_body["payload"]["summary"]
    assert resolve_body["event_action"] == "resolve"
    assert resolve_body["dedup_key"] == trigger_body["dedup_key"] == f"phoneline/line/{NUMBER}"
    pages = [a for a in setup.log(cli) if a["channel"] == "pagerduty"]
    assert [p["kind"] for p in pages] == ["page_trigger", "page_resolve"]
    assert len(setup.pagerduty.snapshot()) == 2


def test_a_failing_webhook_subscription_is_reported_to_slack_before_and_when_it_is_deactivated(
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    linq: Any,
    cli: Any,
    settings: Settings,
) -> None:
    slack = make_receiver()
    failing = make_receiver(lambda _request, _count: Reply(500))
    partner = make_partner("Acme")
    cli("lines", "assign", NUMBER, "--partner", partner.id)
    cli("partners", "configure", partner.id, "--slack-webhook-url", slack.url + "/services/x")
    linq(partner.api_key).webhook_subscriptions.create(
        target_url=failing.url + "/hook", subscribed_events=[STATUS]
    )
    quick = Settings(webhook_retry_delays="", webhook_retry_jitter=0.0, slack_coalesce_s=1.0)
    clock = ManualClock()
    start = clock.now()

    def run(at_hours: float) -> None:
        async def main() -> None:
            engine = create_engine(quick, pool=False)
            try:
                sessions = create_sessionmaker(engine)
                tasks = delivery_tasks(quick, sessions)
                await build_runner(quick, sessions, tasks, clock=clock, worker_id="t").drain()
            finally:
                await engine.dispose()

        for offset in (0.0, 2.0):  # then past the Slack coalescing window
            clock.current = start + timedelta(hours=at_hours, seconds=offset)
            asyncio.run(main())

    for hours in (0, 12.5, 24.5):
        cli("lines", "flag" if hours != 12.5 else "unflag", NUMBER)
        run(hours)

    texts = [slack_text(m) for m in slack.snapshot()]
    warnings = [t for t in texts if "Webhook" in t]
    assert len(warnings) == 2
    assert "(50% of the 24-hour limit)" in warnings[0]
    assert "/hook" in warnings[0]
    assert "*deactivated*" in warnings[1]
