"""The webhook portal in a real browser: create (secret shown once), test event, edit, pause/resume,
a delivery held behind an earlier event of its line, every attempt opened, delete with confirmation, and
a delivery log that pages through everything and filters by event type, line and outcome."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from linq.types import WebhookSubscriptionDisabledWebhookEvent
from playwright.sync_api import Page, expect

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.settings import Settings
from phoneline.webhooks import partner_log, subscriptions
from phoneline.webhooks.schemas import SubscriptionCreate
from tests.conftest import Cli, LiveServer, PartnerAccount, wait_until
from tests.dashboard.conftest import next_page, screenshot
from tests.dashboard.test_browser import log_in_operator, log_in_partner
from tests.webhooks.conftest import FAST, App
from tests.webhooks.receiver import Received, Receiver, Reply

LINE = "+12025550123"
STATUS = "phone_number.status_updated"


def reload_until(page: Page, shown: Callable[[], bool]) -> None:
    """The page renders once; the dispatcher writes back a moment after the receiver answered."""

    def check() -> bool:
        page.reload()
        return shown()

    wait_until(check, what="the page to show the delivery's outcome")


def served(app: App) -> LiveServer:
    return LiveServer(url=app.url, app=app.app, server=app.server, thread=app.thread)


def test_partner_runs_a_subscription_end_to_end_in_the_portal(
    page: Page,
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
) -> None:
    # A generous timeout: on a loaded machine a 2 s one can expire before the receiver's answer is read.
    app = start_app(
        **{**FAST, "webhook_timeout_s": 10.0, "webhook_lease_s": 30.0}, webhook_retry_after_cap_s=600.0
    )
    stalled: set[str] = set()  # event ids the receiver answers 503 + Retry-After: 600 for

    def respond(request: Received, _count: int) -> Reply:
        if request.event_id in stalled:
            return Reply(status=503, headers={"Retry-After": "600"}, body=b"busy: come back later")
        return Reply(body=b'{"received": true}')

    receiver = make_receiver(respond)
    acme = make_partner("Acme")
    cli("lines", "assign", LINE, "--partner", acme.id)
    log_in_partner(page, served(app), acme.api_key)

    # Create: target, one event type, a line filter; the signing secret is shown once and verifies.
    page.click("text=Webhooks")
    page.fill("input[name=target_url]", receiver.url + "/hook")
    page.select_option("select[name=events]", [STATUS, "phone_number.released"])
    page.fill("textarea[name=phone_numbers]", LINE)
    page.click("button[data-action=create]")
    secret = page.locator("[data-testid=new-secret] .secret").inner_text().strip()
    assert secret.startswith("whsec_")
    receiver.verify_with(secret)
    screenshot(page, "portal-created")
    row = page.locator("[data-testid=subscriptions] tbody tr[data-subscription]")
    expect(row).to_contain_text(LINE)
    page.goto(f"{app.url}/dashboard/webhooks")
    expect(page.locator("[data-testid=new-secret]")).to_have_count(0)

    # A test event of a chosen type: it arrives signed, and its delivery page shows payload and attempt.
    row.locator("select[name=event_type]").select_option("phone_number.released")
    row.locator("button[data-action=test]").click()
    [test_request] = receiver.wait_for_count(1)
    assert test_request.envelope["event_type"] == "phone_number.released"
    assert test_request.envelope["data"]["test"] is True
    reload_until(page, lambda: page.locator("[data-testid=state]").inner_text() == "succeeded")
    expect(page.locator("[data-testid=payload]")).to_contain_text('"event_type": "phone_number.released"')
    expect(page.locator("[data-testid=headers]")).to_contain_text(test_request.webhook_id)
    attempt = page.locator("[data-testid=attempts] tr[data-attempt]").last  # the one that succeeded
    expect(attempt).to_contain_text("200")
    expect(attempt).to_contain_text("ms")
    expect(attempt).to_contain_text('{"received": true}')
    screenshot(page, "portal-test-delivery")

    # Edit: only status updates from now on.
    page.goto(f"{app.url}/dashboard/webhooks")
    page.click("a[data-action=edit]")
    page.select_option("select[name=events]", [STATUS])
    page.click("button[data-action=save]")
    expect(page.locator(".flash")).to_contain_text("Subscription saved.")
    expect(row.locator("td").nth(1)).to_have_text(STATUS)

    # Pause: nothing goes out, not even a test event, until it is resumed.
    page.click("button[data-action=pause]")
    expect(row).to_contain_text("paused")
    row.locator("button[data-action=test]").click()
    expect(page.locator(".flash.error")).to_contain_text("is inactive (deactivated by the partner)")
    page.click("button[data-action=resume]")
    expect(row).to_contain_text("active")

    # Held: the receiver stalls the next flag (503, Retry-After 600), so the clear after it waits.
    stalled_ids: list[str] = []

    def stall_first_status(request: Received, count: int) -> Reply:
        if not stalled_ids and request.envelope["event_type"] == STATUS:
            stalled_ids.append(request.event_id)
            stalled.add(request.event_id)
        return respond(request, count)

    receiver.responder = stall_first_status
    cli("lines", "flag", LINE, "--reason", "carrier report")
    receiver.wait_for(lambda requests: bool(stalled_ids), what="the stalled flag")
    cli("lines", "unflag", LINE, "--reason", "cleared")
    pending = page.locator("[data-testid=deliveries] tbody tr[data-delivery]")

    def both_pending() -> bool:  # the clear is fanned out by the dispatcher, a moment after the commit
        page.goto(f"{app.url}/dashboard/webhooks?line={LINE}&state=pending")
        return pending.count() == 2

    wait_until(both_pending, what="the clear queued behind the stalled flag")  # newest first
    assert len(receiver.snapshot()) == 2  # the test event and the stalled flag; the clear never left
    pending.first.locator("a").first.click()
    expect(page.locator("[data-testid=held]")).to_contain_text("waits for an earlier event of the same line")
    screenshot(page, "portal-held-delivery")
    page.click("[data-testid=held] a")
    reload_until(page, lambda: "503" in page.locator("[data-testid=attempts]").inner_text())
    expect(page.locator("[data-testid=attempts]")).to_contain_text("busy: come back later")
    expect(page.locator("[data-testid=attempts]")).to_contain_text("retry")

    # Filters: by event type and outcome.
    page.goto(f"{app.url}/dashboard/webhooks?event_type=phone_number.released")
    expect(page.locator("[data-testid=deliveries] tbody tr[data-delivery]")).to_have_count(1)
    page.goto(f"{app.url}/dashboard/webhooks?state=succeeded")
    expect(page.locator("[data-testid=deliveries] tbody tr[data-delivery]")).to_have_count(1)
    page.goto(f"{app.url}/dashboard/webhooks?state=nonsense")
    expect(page.locator(".flash.error")).to_contain_text("is not a delivery outcome")

    # Delete asks first; after it the log stays readable.
    page.goto(f"{app.url}/dashboard/webhooks")
    page.click("button[data-action=delete]")
    expect(page.locator("[data-testid=confirm]")).to_contain_text(receiver.url + "/hook")
    screenshot(page, "portal-confirm-delete")
    page.click("button[data-action=confirm]")
    expect(page.locator(".flash")).to_contain_text("Subscription deleted")
    expect(page.locator("[data-testid=subscriptions] tbody tr[data-subscription]")).to_have_count(0)
    expect(page.locator("[data-testid=deliveries] tbody tr[data-delivery]")).to_have_count(3)
    assert receiver.verification_failures == []


def queue_test_events(settings: Settings, partner_id: str, subscription_id: str, count: int) -> None:
    """Through the portal's own service, in a worker thread (Playwright holds the main loop)."""

    async def work() -> None:
        engine = create_engine(settings, pool=False)
        try:
            async with create_sessionmaker(engine)() as session:
                for _ in range(count):
                    await partner_log.send_test_event(session, uuid.UUID(partner_id), subscription_id, STATUS)
                await session.commit()
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, work()).result()


def test_delivery_logs_page_through_everything_in_dashboard_and_console(
    page: Page,
    live_server: LiveServer,
    settings: Settings,
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
) -> None:
    acme, globex = make_partner("Acme"), make_partner("Globex")
    cli("lines", "assign", LINE, "--partner", acme.id)
    created = []
    for partner, path in ((acme, "/acme"), (globex, "/globex")):
        # The shared server's dispatcher is off: deliveries stay pending, which is all a log needs.
        doc = live_server_subscription(settings, partner.id, SubscriptionCreate(
            target_url=f"http://127.0.0.1:9{path}", subscribed_events=[STATUS]))  # fmt: skip
        created.append(doc)
    queue_test_events(settings, acme.id, created[0], 230)
    queue_test_events(settings, globex.id, created[1], 5)
    log_in_partner(page, live_server, acme.api_key)

    page.goto(f"{live_server.url}/dashboard/webhooks")
    seen: list[str] = []
    while True:
        rows = page.locator("[data-testid=deliveries] tbody tr[data-delivery]")
        ids = rows.evaluate_all("rows => rows.map(r => r.dataset.delivery)")
        assert 0 < len(ids) <= 100
        seen += ids
        if not page.locator("a[rel=next]").count():
            break
        next_page(page)
    assert len(seen) == len(set(seen)) == 230  # every one of Acme's, none of Globex's
    expect(page.locator(".pager")).to_contain_text("End of the log")
    page.click("a[rel=prev]")
    expect(page.locator("[data-testid=deliveries] tbody tr[data-delivery]")).to_have_count(100)

    # The console sees every partner's, with the same filters, and opens any delivery.
    log_in_operator(page, live_server)
    page.goto(f"{live_server.url}/console/deliveries/log?state=pending")
    total = 0
    while True:
        total += page.locator("[data-testid=deliveries] tbody tr[data-delivery]").count()
        if not page.locator("a[rel=next]").count():
            break
        next_page(page)
    assert total == 235
    page.goto(f"{live_server.url}/console/deliveries/log?partner={globex.id}")
    rows = page.locator("[data-testid=deliveries] tbody tr[data-delivery]")
    expect(rows).to_have_count(5)
    rows.first.locator("a").first.click()
    expect(page.locator("[data-testid=payload]")).to_contain_text('"test": true')
    screenshot(page, "console-delivery")


def live_server_subscription(settings: Settings, partner_id: str, wanted: SubscriptionCreate) -> str:
    async def work() -> str:
        engine = create_engine(settings, pool=False)
        try:
            async with create_sessionmaker(engine)() as session:
                subscription, _secret = await subscriptions.create_subscription(
                    session, settings, uuid.UUID(partner_id), wanted
                )
                await session.commit()
                return str(subscription.id)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work()).result()


def test_pausing_in_the_portal_emits_the_disabled_event_from_the_dashboard(
    page: Page,
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
) -> None:
    app = start_app(**FAST)
    acme = make_partner("Acme")
    client = app.linq(acme.api_key)
    watcher_inbox = make_receiver()
    watcher = client.webhook_subscriptions.create(
        target_url=watcher_inbox.url + "/watch", subscribed_events=["webhook_subscription.disabled"]
    )
    watcher_inbox.verify_with(watcher.signing_secret)
    paused = client.webhook_subscriptions.create(
        target_url="https://hooks.example.com/paused", subscribed_events=[STATUS]
    )
    log_in_partner(page, served(app), acme.api_key)

    page.goto(f"{app.url}/dashboard/webhooks")
    page.locator(f"tr[data-subscription='{paused.id}'] button[data-action=pause]").click()

    [request] = watcher_inbox.wait_for_count(1)
    assert watcher_inbox.verification_failures == []
    event = WebhookSubscriptionDisabledWebhookEvent.model_validate(request.envelope)
    assert event.data.webhook_subscription is not None
    assert event.data.webhook_subscription.id == paused.id
    assert (event.data.actor.type, event.data.origin) == ("api", "dashboard")
