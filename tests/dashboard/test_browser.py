"""The dashboard in a real browser: operator and partner journeys, one screenshot per page."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_TOKEN, Cli, LiveServer, PartnerAccount
from tests.dashboard.conftest import screenshot


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
