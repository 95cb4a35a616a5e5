"""Dashboard forms refuse text no database can store (400, nothing stored) instead of failing on it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, Cli, LiveServer
from tests.dashboard.test_security import csrf_of, log_in


@pytest.fixture
def operator(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, follow_redirects=True, timeout=10) as client:
        log_in(client, "/console", "token", ADMIN_TOKEN)
        yield client


def test_a_partner_name_with_a_nul_is_refused_and_nothing_is_stored(operator: httpx.Client, cli: Cli) -> None:
    csrf = csrf_of(operator.get("/console").text)

    response = operator.post("/console/partners", data={"name": "Acme\x00", "csrf": csrf})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 1003
    assert cli("partners", "list")["partners"] == []


def test_a_search_with_a_nul_or_past_its_maximum_is_refused(operator: httpx.Client) -> None:
    assert operator.get("/console/lines", params={"q": "202\x00"}).status_code == 400
    assert operator.get("/console/lines", params={"q": "2" * 300}).status_code == 400
    assert operator.get("/console/lines", params={"q": "202"}).status_code == 200
