"""The operator's delivery backlog, on the console page and in /metrics."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ADMIN_TOKEN, Cli, LiveServer, PartnerAccount, wait_until
from tests.dashboard.test_security import log_in
from tests.webhooks.conftest import FAST, App, deliveries, wait_for_deliveries
from tests.webhooks.receiver import Receiver, Reply

NUMBER = "+12025550123"


def metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_backlog_and_failing_subscriptions_show_on_the_console_and_in_metrics(
    live_server: LiveServer,
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
    admin: httpx.Client,
) -> None:
    # A dispatcher whose receiver fails: one attempt, then a retry a minute later.
    app = start_app(**{**FAST, "webhook_retry_delays": "60"})
    receiver = make_receiver(lambda _request, _count: Reply(503))
    acme = make_partner("Acme")
    cli("lines", "assign", NUMBER, "--partner", acme.id)
    subscription = app.linq(acme.api_key).webhook_subscriptions.create(
        target_url=receiver.url + "/hook", subscribed_events=["phone_number.status_updated"]
    )
    before = metric(
        httpx.get(f"{app.url}/metrics").text,
        "phoneline_job_attempts_total",
        kind="webhook_delivery",
        outcome="retry",
    )
    cli("lines", "flag", NUMBER)
    [first] = wait_for_deliveries(
        cli, subscription.id, lambda found: bool(found) and found[0]["attempts"] == 1, "an attempt"
    )
    after = metric(
        httpx.get(f"{app.url}/metrics").text,
        "phoneline_job_attempts_total",
        kind="webhook_delivery",
        outcome="retry",
    )
    assert after == before + 1
    app.stop()  # nobody dispatches from here on: a resend stays due
    queued = admin.post(
        f"/webhooks/events/{first['event_id']}/resend", json={"subscription_id": subscription.id}
    )
    assert queued.status_code == 202
    assert len(deliveries(cli, subscription.id)) == 2

    def due_metrics() -> str | None:
        text = httpx.get(f"{live_server.url}/metrics").text
        return text if metric(text, "phoneline_webhook_oldest_due_age_seconds") > 0 else None

    scraped = wait_until(due_metrics, what="a due delivery to age")
    assert metric(scraped, "phoneline_webhook_backlog") == 2
    # The resend waits only for a worker (the original is backing off): overdue in the job gauges.
    assert metric(scraped, "phoneline_job_backlog", kind="webhook_delivery") == 2
    assert metric(scraped, "phoneline_job_oldest_overdue_seconds", kind="webhook_delivery") > 0

    with httpx.Client(base_url=live_server.url, follow_redirects=True, timeout=10) as browser:
        log_in(browser, "/console", "token", ADMIN_TOKEN)
        page = browser.get("/console/deliveries").text
    assert 'data-testid="pending">2<' in page
    failing = page.split('data-testid="failing"')[1]
    assert subscription.id in failing and "Acme" in failing and receiver.url in failing
    jobs = page.split('data-testid="jobs"')[1].split("</table>")[0]
    assert '<tr data-kind="webhook_delivery"><td>webhook_delivery</td><td>2</td>' in jobs
    # This server runs no health task, so no periodic pass has been taken (test_sweep_pass.py).
    passes = page.split('data-testid="passes"')[1].split("</table>")[0]
    assert "No pass has run yet" in passes
