"""Once saved, a secret is shown redacted everywhere (dashboard, console, CLI, admin and partner API),
and pages still work when PHONELINE_SECRET_KEY cannot read what is stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from linq import LinqAPIV3

from tests.conftest import ADMIN_TOKEN, Cli, LiveServer, PartnerAccount
from tests.logins.conftest import csrf_of, log_in
from tests.stored_secrets.test_rotation import ROUTING_KEY, SLACK

SLACK_TOKEN = "SECRETSECRETSECRET"


def test_saved_secrets_are_only_ever_shown_redacted(
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
    linq: Callable[[str], LinqAPIV3],
    admin: httpx.Client,
    live_server: LiveServer,
) -> None:
    acme = make_partner("Acme")
    client = linq(acme.api_key)
    created = client.webhook_subscriptions.create(
        target_url="https://hooks.example.com/linq", subscribed_events=["phone_number.status_updated"]
    )
    signing_secret = created.signing_secret  # shown this once
    configured = cli.run(
        "partners", "configure", acme.id, "--slack-webhook-url", SLACK, "--pagerduty-routing-key", ROUTING_KEY
    )  # fmt: skip
    human = cli.run("partners", "configure", acme.id)

    with httpx.Client(base_url=live_server.url, follow_redirects=True, timeout=10) as browser:
        log_in(browser, "/dashboard", acme.api_key)
        dashboard = [browser.get(path).text for path in ("/dashboard/settings", "/dashboard/webhooks")]
        log_in(browser, "/console", ADMIN_TOKEN)
        console = [browser.get(path).text for path in (f"/console/partners/{acme.id}", "/console/deliveries")]
    seen: list[Any] = [
        configured.stdout,
        human.stdout,
        cli.run("partners", "configure", acme.id, "--json").stdout,
        cli.run("webhooks", "subscriptions", "--json").stdout,
        admin.get(f"/partners/{acme.id}/alerts").text,
        admin.get("/webhooks/subscriptions").text,
        client.webhook_subscriptions.list().model_dump_json(),
        client.webhook_subscriptions.retrieve(created.id).model_dump_json(),
        *dashboard,
        *console,
    ]
    assert "https://hooks.slack.com/…CRET" in dashboard[0] and "…CDEF" in dashboard[0]
    for text in seen:
        assert SLACK_TOKEN not in text and ROUTING_KEY not in text and signing_secret not in text


def test_settings_pages_work_and_save_non_secret_settings_without_a_readable_key(
    start_app: Callable[..., Any], make_partner: Callable[[str], PartnerAccount], cli: Cli
) -> None:
    acme = make_partner("Acme")
    cli("partners", "configure", acme.id, "--slack-webhook-url", SLACK)  # saved with the tests' key
    for secret_key in (None, "another-key-that-reads-nothing-0123456789"):
        app = start_app(secret_key=secret_key)
        with httpx.Client(base_url=app.url, follow_redirects=True, timeout=10) as browser:
            log_in(browser, "/dashboard", acme.api_key)
            page = browser.get("/dashboard/settings")
            assert page.status_code == 200 and "cannot decrypt" in page.text
            saved = browser.post(
                "/dashboard/settings",
                data={
                    "slack_on": "off",
                    "pacing": "enforce",
                    "production_lines": "",
                    "csrf": csrf_of(page.text),
                },
            )
            assert "Settings saved." in saved.text, saved.text
    shown = cli("partners", "configure", acme.id)
    assert (shown["pacing"], shown["slack_on"]) == ("enforce", "off")
    assert shown["slack_webhook_url"] == "https://hooks.slack.com/…CRET", "the stored URL was kept"
