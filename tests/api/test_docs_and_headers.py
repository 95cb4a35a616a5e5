"""HTML pages carry the security headers; /docs renders in Chromium offline, under that policy, with
every file from phoneline itself; JSON responses carry nosniff and never the HTML-only headers."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page, Route

from tests.conftest import LiveServer
from tests.dashboard.conftest import screenshot
from tests.webhooks.conftest import App

HTML_PAGES = ["/docs", "/dashboard/login", "/console/login", "/guides/errors", "/guides/phone-health"]


def test_every_html_page_carries_the_security_headers(http: httpx.Client) -> None:
    for path in HTML_PAGES:
        response = http.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        # The test server's public base URL is plain http: no HSTS.
        assert "strict-transport-security" not in response.headers
        assert "<script>" not in response.text and " on" + "load=" not in response.text


def test_json_responses_carry_nosniff_but_no_page_policy(http: httpx.Client) -> None:
    response = http.get("/api/partner/v3/phone_numbers")

    assert response.status_code == 401
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers


def test_hsts_is_sent_when_the_public_base_url_is_https(start_app: Callable[..., App]) -> None:
    app = start_app(public_base_url="https://phoneline.example", webhook_dispatcher_enabled=False)

    for path in ("/docs", "/healthz"):
        response = httpx.get(app.url + path)
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_docs_render_offline_under_the_policy(page: Page, live_server: LiveServer) -> None:
    elsewhere: list[str] = []

    def only_this_host(route: Route) -> None:
        if urlsplit(route.request.url).netloc != urlsplit(live_server.url).netloc:
            elsewhere.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.context.route("**/*", only_this_host)
    page.add_init_script(
        "window.violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.goto(f"{live_server.url}/docs")

    page.get_by_text("/api/partner/v3/chats", exact=True).first.wait_for(timeout=15_000)
    assert page.locator(".information-container .title").inner_text().startswith("phoneline")
    page.locator(".opblock-summary", has_text="/api/partner/v3/chats").first.click()
    page.get_by_text("Request body", exact=False).first.wait_for()
    screenshot(page, "docs-offline")
    assert elsewhere == []
    assert page.evaluate("window.violations") == []
