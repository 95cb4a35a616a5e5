"""The dashboard in a real browser: operator and partner journeys, one screenshot per page."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_TOKEN, Cli, LiveServer, PartnerAccount
from tests.dashboard.conftest import screenshot
from tests.webhooks.conftest import FAST, App
from tests.webhooks.receiver import Receiver


def log_in_partner(page: Page, live_server: LiveServer, api_key: str) -> None:
    page.goto(f"{live_server.url}/dashboard")
    expect(page).to_have_url(f"{live_server.url}/dashboard/login")
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/dashboard")


def log_in_operator(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/console/login")
    page.fill("#token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/console")


def test_partner_sees_a_flagged_line_and_its_timeline(
    page: Page, live_server: LiveServer, cli: Cli, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    cli("lines", "assign", "+12025550101", "--partner", acme.id)
    cli("lines", "assign", "+12025550102", "--partner", acme.id)
    cli("lines", "flag", "+12025550102", "--reason", "carrier report")

    page.goto(f"{live_server.url}/dashboard/login")
    screenshot(page, "partner-login")
    log_in_partner(page, live_server, acme.api_key)

    flagged_row = page.locator("tr[data-line='+12025550102']")
    expect(flagged_row.locator(".badge.flagged")).to_have_text("FLAGGED")
    expect(page.locator("tr[data-line='+12025550101'] .badge.active")).to_have_text("ACTIVE")
    screenshot(page, "partner-lines")

    page.select_option("select[name=status]", "FLAGGED")
    page.click("text=Filter")
    expect(page.locator("tbody tr")).to_have_count(1)

    flagged_row.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("+12025550102")
    expect(page.locator(".timeline")).to_contain_text("carrier report")
    screenshot(page, "partner-line")


def test_operator_flags_a_line_and_the_partner_page_shows_it(
    browser_pages: tuple[Page, Page],
    live_server: LiveServer,
    cli: Cli,
    make_partner: Callable[[str], PartnerAccount],
) -> None:
    operator, partner = browser_pages
    acme = make_partner("Acme")
    cli("lines", "assign", "+12025550101", "--partner", acme.id)
    log_in_partner(partner, live_server, acme.api_key)
    expect(partner.locator("tr[data-line='+12025550101'] .badge.active")).to_be_visible()

    log_in_operator(operator, live_server)
    screenshot(operator, "console-partners")
    operator.click("text=Lines")
    screenshot(operator, "console-lines")
    operator.click("text=+12025550101")
    operator.locator("form[action$='/flag'] input[name=reason]").fill("spam complaints")
    operator.click("button[data-action=flag]")
    expect(operator.locator("[data-testid=confirm]")).to_contain_text("spam complaints")
    operator.click("button[data-action=confirm]")
    expect(operator.locator(".flash")).to_contain_text("Flag: done")
    expect(operator.locator(".timeline")).to_contain_text("spam complaints")
    screenshot(operator, "console-line")

    # The partner's open page refreshes itself (no reload) and shows the flag.
    expect(partner.locator("tr[data-line='+12025550101'] .badge.flagged")).to_be_visible(timeout=10_000)


def test_operator_creates_a_partner_and_sees_its_key_once(page: Page, live_server: LiveServer) -> None:
    log_in_operator(page, live_server)
    page.fill("input[name=name]", "Initech")
    page.click("text=Create")
    key = page.locator("[data-testid=new-key]").inner_text()
    assert key.startswith("pl_")
    page.goto(f"{live_server.url}/console")
    expect(page.locator("[data-testid=new-key]")).to_have_count(0)
    expect(page.locator("table")).to_contain_text("Initech")


def test_partner_changes_the_slack_setting(
    page: Page, live_server: LiveServer, cli: Cli, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    log_in_partner(page, live_server, acme.api_key)
    page.click("text=API Tooling")
    expect(page.locator("h1")).to_have_text("API Tooling")
    expect(page.locator("[data-testid=slack-url]")).to_contain_text("No Slack webhook set")

    page.select_option("#slack_on", "status,health")
    page.fill("#slack_webhook_url", "http://127.0.0.1:9/services/T000/B000/XXXXXXXX")
    page.check("input[name=pacing][value=enforce]")
    page.click("button[data-action=save]")

    expect(page.locator(".flash")).to_contain_text("Settings saved.")
    expect(page.locator("#slack_on")).to_have_value("status,health")
    expect(page.locator("[data-testid=slack-url]")).to_contain_text("http://127.0.0.1:9/")
    stored = cli("partners", "configure", acme.id)
    assert (stored["slack_on"], stored["pacing"]) == ("status,health", "enforce")
    screenshot(page, "partner-settings")


def test_partner_resends_a_delivery(
    page: Page,
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
) -> None:
    app = start_app(**FAST)
    receiver = make_receiver()
    acme = make_partner("Acme")
    cli("lines", "assign", "+12025550123", "--partner", acme.id)
    app.linq(acme.api_key).webhook_subscriptions.create(
        target_url=receiver.url + "/hook", subscribed_events=["phone_number.status_updated"]
    )
    cli("lines", "flag", "+12025550123", "--reason", "carrier report")
    [original] = receiver.wait_for_count(1)
    server = LiveServer(url=app.url, app=app.app, server=app.server, thread=app.thread)
    log_in_partner(page, server, acme.api_key)

    page.click("text=Webhooks")
    row = page.locator(f"tr[data-event='{original.event_id}']")
    expect(row.first).to_contain_text("succeeded", timeout=10_000)
    page.reload()  # the delivery row now carries its attempt
    expect(page.locator(".attempt").first).to_contain_text("200")
    screenshot(page, "partner-webhooks")
    row.first.locator("button[data-action=resend]").click()

    expect(page.locator(".flash")).to_contain_text("Resend queued")
    assert receiver.wait_for_count(2)[1].webhook_id == original.webhook_id
    expect(page.locator(f"tr[data-event='{original.event_id}']")).to_have_count(2)


def test_line_page_and_console_backlog_screenshots(
    browser_pages: tuple[Page, Page],
    live_server: LiveServer,
    cli: Cli,
    make_partner: Callable[[str], PartnerAccount],
) -> None:
    operator, partner = browser_pages
    acme = make_partner("Acme")
    line = cli("lines", "assign", "+12025550101", "--partner", acme.id)
    cli("lines", "flag", "+12025550101", "--reason", "carrier report")
    cli("reputation", "score", "--line", "+12025550101")
    log_in_partner(partner, live_server, acme.api_key)
    partner.goto(f"{live_server.url}/dashboard/lines/{line['id']}")
    expect(partner.locator("[data-testid=activity-chart] svg")).to_be_visible()
    expect(partner.locator("[data-testid=audit]")).to_contain_text("No audit yet.")
    partner.click("button[data-action=audit]")
    expect(partner.locator(".flash")).to_contain_text("Audit started")
    screenshot(partner, "partner-line-health")

    log_in_operator(operator, live_server)
    operator.click("text=Deliveries")
    expect(operator.locator("h1")).to_have_text("Delivery backlog")
    screenshot(operator, "console-deliveries")


def test_the_phone_health_guide_explains_the_drivers_the_evidence_and_recovery(
    page: Page, live_server: LiveServer
) -> None:
    # The guide every line's doc_url points at, with the values this server runs on.
    page.goto(f"{live_server.url}/guides/phone-health#drivers")
    drivers = page.locator("#drivers + p + ul")
    expect(drivers).to_contain_text("Opt-outs among recent recipients")
    expect(drivers).to_contain_text("AT_RISK from 4%, CRITICAL from 10%")
    expect(drivers).to_contain_text("Delivery failures")
    expect(page.locator("#evidence + p")).to_contain_text("are chance among 40")
    recovery = page.locator("#hysteresis + p")
    expect(recovery).to_contain_text("20 messages (sent and not failed, or received)")
    expect(recovery).to_contain_text("or 15 minutes have passed, whichever comes first")
    row = page.locator("table.thresholds tr", has=page.locator("code", has_text="recovery_evidence_messages"))
    expect(row.locator("td").nth(1)).to_have_text("20")
    screenshot(page, "guide-phone-health")
