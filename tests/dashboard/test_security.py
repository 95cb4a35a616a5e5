"""Dashboard security without a browser: CSRF on every mutating form, cookie flags, tenant isolation."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, Cli, LiveServer, PartnerAccount, wait_until


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "form without a CSRF token"
    return match.group(1)


@pytest.fixture
def browser_like(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, follow_redirects=True, timeout=10) as client:
        yield client


def log_in(client: httpx.Client, path: str, field: str, secret: str) -> httpx.Response:
    form = client.get(f"{path}/login")
    return client.post(f"{path}/login", data={field: secret, "csrf": csrf_of(form.text)})


def test_session_cookie_is_httponly_and_samesite(
    browser_like: httpx.Client, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    form = browser_like.get("/dashboard/login")
    response = browser_like.post(
        "/dashboard/login", data={"api_key": acme.api_key, "csrf": csrf_of(form.text)}, follow_redirects=False
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert acme.api_key.lower() not in cookie


def test_operator_forms_refuse_a_missing_or_wrong_csrf_token(
    browser_like: httpx.Client, cli: Cli, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    cli("lines", "assign", "+12025550101", "--partner", acme.id)
    log_in(browser_like, "/console", "token", ADMIN_TOKEN)

    for data in ({"reason": "x"}, {"reason": "x", "csrf": "forged"}):
        page = browser_like.post("/console/lines/+12025550101/flag", data=data)
        assert "form expired" in page.text
    assert browser_like.post("/console/partners", data={"name": "Forged"}).status_code == 200
    assert cli("lines", "show", "+12025550101")["status"] == "ACTIVE"
    assert [p["name"] for p in cli("partners", "list")["partners"]] == ["Acme"]


def test_wrong_credentials_do_not_log_in(browser_like: httpx.Client) -> None:
    assert "Invalid or revoked API key" in log_in(browser_like, "/dashboard", "api_key", "pl_wrong").text
    assert "invalid admin token" in log_in(browser_like, "/console", "token", "wrong").text
    assert browser_like.get("/console").url.path == "/console/login"


def test_a_partner_never_reaches_another_partners_line(
    browser_like: httpx.Client, cli: Cli, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme, globex = make_partner("Acme"), make_partner("Globex")
    acme_line = cli("lines", "assign", "+12025550101", "--partner", acme.id)
    cli("lines", "assign", "+12025550102", "--partner", globex.id)
    log_in(browser_like, "/dashboard", "api_key", globex.api_key)

    assert "+12025550101" not in browser_like.get("/dashboard").text
    assert "+12025550101" not in browser_like.get("/dashboard/lines/table").text
    foreign = browser_like.get(f"/dashboard/lines/{acme_line['id']}")
    assert foreign.status_code == 404 and "+12025550101" not in foreign.text
    # Partner sessions do not open the operator console.
    assert browser_like.get("/console/lines").url.path == "/console/login"


def test_revoking_the_key_ends_its_dashboard_session(
    browser_like: httpx.Client, cli: Cli, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    log_in(browser_like, "/dashboard", "api_key", acme.api_key)
    assert browser_like.get("/dashboard").url.path == "/dashboard"
    cli("keys", "revoke", acme.api_key[:12])
    assert wait_until(lambda: browser_like.get("/dashboard").url.path == "/dashboard/login", timeout=2.0)


def test_a_moved_line_does_not_reveal_its_previous_owner(
    browser_like: httpx.Client, cli: Cli, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme, globex = make_partner("Acme"), make_partner("Globex")
    line = cli("lines", "assign", "+12025550101", "--partner", acme.id)
    cli("lines", "move", "+12025550101", "--partner", globex.id)
    log_in(browser_like, "/dashboard", "api_key", globex.api_key)

    page = browser_like.get(f"/dashboard/lines/{line['id']}")
    assert page.status_code == 200
    assert "assigned to your account" in page.text
    assert acme.id not in page.text and globex.id not in page.text
