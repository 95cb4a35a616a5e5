"""Dashboard and console sessions are server-side records: log-out, the idle and absolute limits, a
revoked key and a new admin token end them at once, on every process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from phoneline.settings import Settings
from tests.conftest import ADMIN_TOKEN, Cli, LiveServer, PartnerAccount, free_port, subprocess_env
from tests.logins.conftest import ManualClock, csrf_of, lands_on, log_in, log_out


def copy_of(client: httpx.Client, base_url: str) -> httpx.Client:
    """Another client holding the same cookie, as an attacker with a copied cookie would."""
    return httpx.Client(base_url=base_url, cookies=dict(client.cookies), timeout=10)


def test_log_out_ends_the_session_for_every_copy_of_the_cookie(
    browser_like: httpx.Client, live_server: LiveServer, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    for area, secret in (("/dashboard", acme.api_key), ("/console", ADMIN_TOKEN)):
        log_in(browser_like, area, secret)
        with copy_of(browser_like, live_server.url) as copied:
            assert lands_on(copied, area) == area
            log_out(browser_like, area)
            assert lands_on(copied, area) == f"{area}/login"
        assert lands_on(browser_like, area) == f"{area}/login"


def test_a_session_ends_after_the_idle_limit_and_after_the_absolute_limit(
    browser_like: httpx.Client,
    clock: ManualClock,
    settings: Settings,
    make_partner: Callable[[str], PartnerAccount],
) -> None:
    acme = make_partner("Acme")
    idle, absolute = settings.session_idle_s, settings.session_max_s

    log_in(browser_like, "/dashboard", acme.api_key)
    clock.advance(idle - 60)
    assert lands_on(browser_like, "/dashboard") == "/dashboard"  # a page view resets the idle time
    clock.advance(idle - 60)
    assert lands_on(browser_like, "/dashboard") == "/dashboard"
    clock.advance(idle + 1)
    assert lands_on(browser_like, "/dashboard") == "/dashboard/login"

    log_in(browser_like, "/console", ADMIN_TOKEN)
    elapsed = 0.0
    while elapsed + idle / 2 < absolute:
        clock.advance(idle / 2)
        elapsed += idle / 2
        assert lands_on(browser_like, "/console") == "/console", "active sessions stay until the limit"
    clock.advance(absolute - elapsed)
    assert lands_on(browser_like, "/console") == "/console/login"


def test_revoking_the_key_ends_its_dashboard_session_at_once(
    browser_like: httpx.Client, cli: Cli, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    second = cli("keys", "create", "--partner", acme.id)
    log_in(browser_like, "/dashboard", second["api_key"])
    assert lands_on(browser_like, "/dashboard") == "/dashboard"
    cli("keys", "revoke", second["api_key"][:12])
    assert lands_on(browser_like, "/dashboard") == "/dashboard/login"


def test_a_console_session_ends_when_the_admin_token_changes(
    browser_like: httpx.Client, start_app: Callable[..., Any], live_server: LiveServer
) -> None:
    log_in(browser_like, "/console", ADMIN_TOKEN)
    # Servers on the same database: one as before, one restarted with a new token.
    same_token = start_app()
    new_token = start_app(admin_token=SecretStr("a-brand-new-admin-token-0123456789abcdef"))
    for server, still_open in ((same_token, True), (new_token, False), (live_server, True)):
        with copy_of(browser_like, server.url) as client:
            assert (lands_on(client, "/console") == "/console") is still_open, server.url
    # Nor can the old session act there: creating a partner through it is refused.
    with copy_of(browser_like, new_token.url) as client:
        page = client.get("/console/login")
        client.post("/console/partners", data={"name": "Mallory", "csrf": csrf_of(page.text)})
    with copy_of(browser_like, live_server.url) as client:
        assert "Mallory" not in client.get("/console").text


def test_sessions_work_on_every_process_of_serve_with_two_workers(
    test_env: dict[str, str], make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    port = free_port()
    env = subprocess_env(test_env)
    # Without PHONELINE_SECRET_KEY too: the cookie key comes from configuration, never from the process.
    env.pop("PHONELINE_SECRET_KEY", None)
    env.update({"PHONELINE_PORT": str(port), "PHONELINE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"})
    server = subprocess.Popen(
        [sys.executable, "-m", "phoneline.cli", "serve", "--workers", "2", "--port", str(port), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # the one JSON document: printed before the workers start
        base = f"http://127.0.0.1:{port}"
        # No keep-alive: every request is a new connection, which either worker may accept.
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=base, limits=fresh, timeout=10) as client:
            ready = _until_up(client)
            assert ready
            log_in(client, "/dashboard", acme.api_key)
            for _ in range(12):
                page = client.get("/dashboard")
                assert page.status_code == 200 and "Lines" in page.text, "bounced to the log-in page"
            log_out(client, "/dashboard")
            assert all(lands_on(client, "/dashboard") == "/dashboard/login" for _ in range(6))
    finally:
        server.terminate()
        server.wait(timeout=20)


def _until_up(client: httpx.Client) -> bool:
    from tests.conftest import wait_until

    def up() -> bool:
        try:
            return client.get("/dashboard/login").status_code == 200
        except httpx.TransportError:
            return False

    return bool(wait_until(up, timeout=30, what="phoneline serve --workers 2 to accept connections"))
