"""Every dashboard and console page works in Chromium under the Content-Security-Policy: the browser
reports no violation (an inline script, handler or style, or a file from another host, would be one)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page

from tests.conftest import Cli, LiveServer, PartnerAccount
from tests.dashboard.test_browser import log_in_operator, log_in_partner

REPORT_VIOLATIONS = (
    "window.violations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " (e) => window.violations.push(location.pathname + ': ' + e.violatedDirective + ' ' + e.blockedURI));"
)


def _visit(page: Page, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("load")
    return list(page.evaluate("window.violations"))


def test_no_page_violates_the_policy(
    page: Page, live_server: LiveServer, cli: Cli, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    line = cli("lines", "assign", "+12025550101", "--partner", acme.id)
    cli("lines", "flag", "+12025550101", "--reason", "carrier report")
    page.add_init_script(REPORT_VIOLATIONS)

    violations = _visit(page, f"{live_server.url}/dashboard/login")
    log_in_partner(page, live_server, acme.api_key)
    for path in ("/dashboard", f"/dashboard/lines/{line['id']}", "/dashboard/webhooks", "/dashboard/settings",
                 "/guides/phone-health", "/guides/errors"):  # fmt: skip
        violations += _visit(page, live_server.url + path)
    page.context.clear_cookies()
    log_in_operator(page, live_server)
    for path in ("/console", "/console/lines", "/console/lines/+12025550101", "/console/deliveries",
                 f"/console/partners/{acme.id}"):  # fmt: skip
        violations += _visit(page, live_server.url + path)

    assert violations == []
