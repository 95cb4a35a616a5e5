"""Partner Webhooks and API Tooling pages without a browser: what they show, what their forms do,
and that one partner never sees or resends another's deliveries."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Cli, LiveServer, PartnerAccount
from tests.dashboard.test_security import csrf_of, log_in
from tests.webhooks.conftest import FAST, App, deliveries, wait_for_deliveries
from tests.webhooks.receiver import Receiver, Reply

NUMBER = "+12025550123"
STATUS = "phone_number.status_updated"


@dataclass
class Delivered:
    app: App
    receiver: Receiver
    partner: PartnerAccount
    subscription_id: str


@pytest.fixture
def delivered(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
) -> Delivered:
    """Acme's line was flagged; the event reached its receiver after one 500 and one 200."""
    app = start_app(**FAST)
    receiver = make_receiver(lambda _request, count: Reply(500, body=b"boom") if count == 0 else Reply(200))
    acme = make_partner("Acme")
    cli("lines", "assign", NUMBER, "--partner", acme.id)
    subscription = app.linq(acme.api_key).webhook_subscriptions.create(
        target_url=receiver.url + "/hook", subscribed_events=[STATUS]
    )
    cli("lines", "flag", NUMBER, "--reason", "carrier report")
    receiver.wait_for_count(2)
    wait_for_deliveries(
        cli, subscription.id, lambda found: bool(found) and found[0]["state"] == "succeeded", "success"
    )
    return Delivered(app, receiver, acme, subscription.id)


@pytest.fixture
def client_for() -> Iterator[Callable[[str], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(url: str) -> httpx.Client:
        client = httpx.Client(base_url=url, follow_redirects=True, timeout=10)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_webhooks_page_shows_subscriptions_and_every_attempt(
    delivered: Delivered, client_for: Callable[[str], httpx.Client]
) -> None:
    browser = client_for(delivered.app.url)
    log_in(browser, "/dashboard", "api_key", delivered.partner.api_key)

    page = browser.get("/dashboard/webhooks")

    assert page.status_code == 200
    assert delivered.subscription_id in page.text
    assert delivered.receiver.url in page.text
    assert re.search(r"#1 · 500 · \d+ ms · retry", page.text)
    assert re.search(r"#2 · 200 · \d+ ms · succeeded", page.text)
    assert "boom" in page.text  # the response excerpt of the failed attempt


def test_resend_from_the_page_sends_the_event_again(
    delivered: Delivered, client_for: Callable[[str], httpx.Client], cli: Cli
) -> None:
    browser = client_for(delivered.app.url)
    log_in(browser, "/dashboard", "api_key", delivered.partner.api_key)
    page = browser.get("/dashboard/webhooks")
    [delivery_id] = re.findall(r'data-delivery="([^"]+)"', page.text)

    forged = browser.post(f"/dashboard/webhooks/deliveries/{delivery_id}/resend", data={"csrf": "x"})
    assert "form expired" in forged.text
    done = browser.post(
        f"/dashboard/webhooks/deliveries/{delivery_id}/resend", data={"csrf": csrf_of(page.text)}
    )

    assert "Resend queued" in done.text
    first, _, again = delivered.receiver.wait_for_count(3)
    assert again.webhook_id == first.webhook_id
    assert [d["kind"] for d in deliveries(cli, delivered.subscription_id)] == ["initial", "resend"]


def test_replay_form_validates_like_the_cli_and_queues_nothing_twice(
    delivered: Delivered, client_for: Callable[[str], httpx.Client]
) -> None:
    browser = client_for(delivered.app.url)
    log_in(browser, "/dashboard", "api_key", delivered.partner.api_key)
    csrf = csrf_of(browser.get("/dashboard/webhooks").text)

    bad = browser.post(
        "/dashboard/webhooks/replay",
        data={"subscription_id": delivered.subscription_id, "since": "yesterday", "csrf": csrf},
    )
    good = browser.post(
        "/dashboard/webhooks/replay",
        data={"subscription_id": delivered.subscription_id, "since": "1h", "csrf": csrf},
    )

    assert "&#39;yesterday&#39; is not a time" in bad.text
    assert "Replay queued 0 events." in good.text  # the one event was already delivered


def test_another_partner_can_neither_see_nor_resend_a_delivery(
    delivered: Delivered,
    client_for: Callable[[str], httpx.Client],
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
) -> None:
    owner = client_for(delivered.app.url)
    log_in(owner, "/dashboard", "api_key", delivered.partner.api_key)
    [delivery_id] = re.findall(r'data-delivery="([^"]+)"', owner.get("/dashboard/webhooks").text)
    globex = make_partner("Globex")
    intruder = client_for(delivered.app.url)
    log_in(intruder, "/dashboard", "api_key", globex.api_key)

    page = intruder.get("/dashboard/webhooks")
    attempt = intruder.post(
        f"/dashboard/webhooks/deliveries/{delivery_id}/resend", data={"csrf": csrf_of(page.text)}
    )
    replay = intruder.post(
        "/dashboard/webhooks/replay",
        data={"subscription_id": delivered.subscription_id, "since": "1h", "csrf": csrf_of(page.text)},
    )

    assert delivery_id not in page.text and delivered.subscription_id not in page.text
    assert attempt.status_code == 404 and "Delivery not found" in attempt.text
    assert "Webhook subscription not found" in replay.text
    assert len(deliveries(cli, delivered.subscription_id)) == 1


def _settings_form(browser: httpx.Client, **fields: str) -> httpx.Response:
    csrf = csrf_of(browser.get("/dashboard/settings").text)
    data: dict[str, Any] = {"slack_on": "status", "pacing": "advise", "production_lines": "", **fields}
    return browser.post("/dashboard/settings", data={**data, "csrf": csrf})


def test_api_tooling_settings_save_and_validate_like_the_cli(
    live_server: LiveServer,
    client_for: Callable[[str], httpx.Client],
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
) -> None:
    acme = make_partner("Acme")
    cli("lines", "assign", NUMBER, "--partner", acme.id)
    browser = client_for(live_server.url)
    log_in(browser, "/dashboard", "api_key", acme.api_key)

    saved = _settings_form(
        browser,
        slack_on="status,health",
        slack_webhook_url="http://127.0.0.1:9/services/T000/B000/XXXXXXXXXXXXXXXX",
        pagerduty_routing_key="abcdef0123456789abcdef0123456789",
        production_lines="(202) 555-0123",
        pacing="enforce",
    )
    assert "Settings saved." in saved.text
    stored = cli("partners", "configure", acme.id)
    assert stored["slack_on"] == "status,health"
    assert stored["slack_webhook_url"].startswith("http://127.0.0.1:9/")
    assert "XXXXXXXXXXXXXXXX" not in saved.text  # shown redacted only
    assert stored["production_lines"] == [NUMBER]
    assert stored["pacing"] == "enforce"

    refused = _settings_form(browser, slack_on="status", pagerduty_routing_key="not a key!")
    cli_refusal = cli.run("partners", "configure", acme.id, "--pagerduty-routing-key", "not a key!", "--json")
    assert cli_refusal.exit_code != 0
    assert "A PagerDuty routing key is up to 64 letters and digits" in cli_refusal.stderr
    assert "A PagerDuty routing key is up to 64 letters and digits" in refused.text
    assert cli("partners", "configure", acme.id)["slack_on"] == "status,health"  # nothing changed

    removed = _settings_form(browser, slack_on="off", remove_slack_webhook_url="1")
    assert "Settings saved." in removed.text
    assert cli("partners", "configure", acme.id)["slack_webhook_url"] is None


def test_send_test_message_posts_to_the_partners_slack_webhook(
    live_server: LiveServer,
    client_for: Callable[[str], httpx.Client],
    make_partner: Callable[[str], PartnerAccount],
    make_receiver: Callable[..., Receiver],
) -> None:
    slack = make_receiver()
    acme = make_partner("Acme")
    browser = client_for(live_server.url)
    log_in(browser, "/dashboard", "api_key", acme.api_key)
    page = browser.get("/dashboard/settings")

    before = browser.post("/dashboard/settings/slack-test", data={"csrf": csrf_of(page.text)})
    assert "Set a Slack incoming-webhook URL first" in before.text
    _settings_form(browser, slack_webhook_url=slack.url + "/services/T1/B1/secret")
    sent = browser.post("/dashboard/settings/slack-test", data={"csrf": csrf_of(page.text)})

    assert "Test message sent; Slack answered 200." in sent.text
    [message] = slack.wait_for_count(1)
    assert message.path == "/services/T1/B1/secret"
    assert "test message" in message.envelope["text"]


def test_send_test_incident_triggers_and_resolves_with_the_partners_routing_key(
    start_app: Callable[..., App],
    client_for: Callable[[str], httpx.Client],
    make_partner: Callable[[str], PartnerAccount],
    make_receiver: Callable[..., Receiver],
) -> None:
    pagerduty = make_receiver(lambda _request, _count: Reply(status=202, body=b'{"status":"success"}'))
    app = start_app(pagerduty_events_url=pagerduty.url + "/v2/enqueue")
    acme = make_partner("Acme")
    browser = client_for(app.url)
    log_in(browser, "/dashboard", "api_key", acme.api_key)
    page = browser.get("/dashboard/settings")

    before = browser.post("/dashboard/settings/pagerduty-test", data={"csrf": csrf_of(page.text)})
    assert "Set a PagerDuty routing key first" in before.text
    routing_key = "R0ut1ngKey0123456789abcdef012345"
    csrf = csrf_of(browser.get("/dashboard/settings").text)
    browser.post("/dashboard/settings", data={"slack_on": "status", "pacing": "advise", "production_lines": "",
                                              "pagerduty_routing_key": routing_key, "csrf": csrf})  # fmt: skip
    sent = browser.post("/dashboard/settings/pagerduty-test", data={"csrf": csrf_of(page.text)})

    assert "PagerDuty answered 202 to the trigger and 202 to the resolve" in sent.text
    trigger, resolve = pagerduty.wait_for_count(2)
    assert trigger.path == resolve.path == "/v2/enqueue"
    assert trigger.envelope["routing_key"] == routing_key
    assert (trigger.envelope["event_action"], resolve.envelope["event_action"]) == ("trigger", "resolve")
    assert trigger.envelope["dedup_key"] == resolve.envelope["dedup_key"] == f"phoneline/test/{acme.id}"
    assert trigger.envelope["payload"]["severity"] == "info"


def test_a_refusing_pagerduty_is_one_sentence(
    start_app: Callable[..., App],
    client_for: Callable[[str], httpx.Client],
    make_partner: Callable[[str], PartnerAccount],
    make_receiver: Callable[..., Receiver],
) -> None:
    pagerduty = make_receiver(lambda _r, _c: Reply(status=400, body=b'{"status":"invalid event"}'))
    app = start_app(pagerduty_events_url=pagerduty.url + "/v2/enqueue")
    acme = make_partner("Acme")
    browser = client_for(app.url)
    log_in(browser, "/dashboard", "api_key", acme.api_key)
    csrf = csrf_of(browser.get("/dashboard/settings").text)
    browser.post("/dashboard/settings", data={"slack_on": "status", "pacing": "advise", "production_lines": "",
                                              "pagerduty_routing_key": "abc123", "csrf": csrf})  # fmt: skip
    sent = browser.post("/dashboard/settings/pagerduty-test", data={"csrf": csrf})
    assert "PagerDuty answered 400: {&#34;status&#34;:&#34;invalid event&#34;}" in sent.text
