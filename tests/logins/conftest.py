"""Log-in helpers: a cookie-keeping client, the CSRF token of a form, a clock the server reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import LiveServer
from tests.webhooks.conftest import start_app

__all__ = ["start_app"]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "form without a CSRF token"
    return match.group(1)


def log_in(client: httpx.Client, area: str, secret: str) -> httpx.Response:
    """Submit the log-in form of /dashboard or /console as a browser would (no redirects followed)."""
    field = "token" if area == "/console" else "api_key"
    form = client.get(f"{area}/login")
    return client.post(f"{area}/login", data={field: secret, "csrf": csrf_of(form.text)})


def log_out(client: httpx.Client, area: str) -> None:
    page = client.get(area, follow_redirects=True)
    client.post(f"{area}/logout", data={"csrf": csrf_of(page.text)})


def lands_on(client: httpx.Client, path: str) -> str:
    """The path a page request ends on after redirects (a login page when the session is over)."""
    return client.get(path, follow_redirects=True).url.path


class ManualClock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock(live_server: LiveServer) -> Iterator[ManualClock]:
    """The shared server's session clock, moved by the test; restored afterwards."""
    runtime = live_server.app.state.runtime
    original, runtime.clock = runtime.clock, ManualClock()
    yield runtime.clock
    runtime.clock = original


@pytest.fixture
def browser_like(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        yield client
