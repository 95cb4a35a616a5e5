"""Failed log-ins are throttled per client address and per account: past the limit every attempt,
the right credentials included, is answered 429 with Retry-After until the window has room."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis

from phoneline.login_throttle import KEY_PREFIX
from phoneline.settings import Settings
from tests.conftest import ADMIN_TOKEN, PartnerAccount, wait_until
from tests.logins.conftest import lands_on, log_in

# A Redis database of this test module's own; only the throttle's keys are removed, before and after.
REDIS_URL = "redis://127.0.0.1:6379/11"


def wrong_key_like(key: str) -> str:
    """A wrong key for the same account (same visible prefix), as a guesser holding the prefix sends."""
    return key[:12] + secrets.token_urlsafe(32)


def test_a_partner_account_is_locked_after_repeated_failures_even_for_the_right_key(
    browser_like: httpx.Client, settings: Settings, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    for _ in range(settings.login_failures_per_account):
        refused = log_in(browser_like, "/dashboard", wrong_key_like(acme.api_key))
        assert refused.status_code == 303
    locked = log_in(browser_like, "/dashboard", acme.api_key)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= settings.login_failure_window_s
    assert "Too many failed log-ins" in locked.text
    assert lands_on(browser_like, "/dashboard") == "/dashboard/login"


def test_the_console_is_locked_after_repeated_wrong_tokens(
    browser_like: httpx.Client, settings: Settings
) -> None:
    for _ in range(settings.login_failures_per_account):
        log_in(browser_like, "/console", "not-the-admin-token")
    locked = log_in(browser_like, "/console", ADMIN_TOKEN)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert lands_on(browser_like, "/console") == "/console/login"


def test_one_address_guessing_many_accounts_is_locked_out(
    browser_like: httpx.Client, settings: Settings, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    for _ in range(settings.login_failures_per_address):
        log_in(browser_like, "/dashboard", "pl_" + secrets.token_urlsafe(32))  # a new account each time
    locked = log_in(browser_like, "/dashboard", acme.api_key)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0


def test_successful_log_ins_are_never_throttled(
    browser_like: httpx.Client, settings: Settings, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    for _ in range(settings.login_failures_per_address + 5):
        assert log_in(browser_like, "/dashboard", acme.api_key).status_code == 303
    assert lands_on(browser_like, "/dashboard") == "/dashboard"


def test_the_lock_lifts_once_the_window_has_room(
    start_app: Callable[..., Any], make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    app = start_app(login_failure_window_s=1, login_failures_per_account=2)
    with httpx.Client(base_url=app.url, timeout=10) as client:
        for _ in range(2):
            log_in(client, "/dashboard", wrong_key_like(acme.api_key))
        assert log_in(client, "/dashboard", acme.api_key).status_code == 429
        wait_until(
            lambda: log_in(client, "/dashboard", acme.api_key).status_code == 303,
            timeout=5,
            what="the one-second window to let the right key in",
        )
        assert lands_on(client, "/dashboard") == "/dashboard"


@pytest.fixture
def shared_redis() -> Iterator[str]:
    connection = redis.Redis.from_url(REDIS_URL)

    def forget() -> None:
        for key in connection.scan_iter(match=f"{KEY_PREFIX}*"):
            connection.delete(key)

    forget()
    yield REDIS_URL
    forget()
    connection.close()


def test_with_redis_every_process_shares_the_count(
    start_app: Callable[..., Any], shared_redis: str, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    first, second = (start_app(redis_url=shared_redis, login_failures_per_account=3) for _ in range(2))
    with (
        httpx.Client(base_url=first.url, timeout=10) as one,
        httpx.Client(base_url=second.url, timeout=10) as two,
    ):
        log_in(one, "/dashboard", wrong_key_like(acme.api_key))
        log_in(two, "/dashboard", wrong_key_like(acme.api_key))
        log_in(one, "/dashboard", wrong_key_like(acme.api_key))
        assert log_in(two, "/dashboard", acme.api_key).status_code == 429
        assert log_in(one, "/dashboard", acme.api_key).status_code == 429
