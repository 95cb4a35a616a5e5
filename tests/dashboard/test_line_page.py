"""The partner's line page: 30-day activity chart, health drivers, reputation report and worst chats."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from linq import LinqAPIV3

from tests.conftest import Cli, LiveServer, PartnerAccount, wait_until
from tests.dashboard.test_security import csrf_of, log_in

LINE = "+12025550123"


def text(value: str) -> dict[str, Any]:
    return {"parts": [{"type": "text", "value": value}]}


@pytest.fixture
def browser_like(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, follow_redirects=True, timeout=10) as client:
        yield client


def series_total(page: str, chart: str, label: str) -> int:
    section = page.split(f'data-testid="{chart}"')[1].split("</figure>")[0]
    match = re.search(rf'data-series="{label}">(\d+)<', section)
    assert match, f"no {label} series in {chart}"
    return int(match.group(1))


def test_line_page_charts_activity_and_lists_the_worst_chats(
    browser_like: httpx.Client,
    cli: Cli,
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
) -> None:
    acme = make_partner("Acme")
    line = cli("lines", "assign", LINE, "--partner", acme.id)
    client = linq(acme.api_key)
    handles = [f"+1415555{1000 + i:04d}" for i in range(4)]
    chats = {h: client.chats.create(from_=LINE, to=[h], message=text("Hi!")).chat.id for h in handles}
    for _ in range(3):
        for chat_id in chats.values():
            client.chats.messages.send(chat_id, message=text("Following up"))
    cli("sim", "inbound", "--line", LINE, "--from", handles[0], "--text", "Sure")
    cli("reputation", "score", "--line", LINE)
    log_in(browser_like, "/dashboard", "api_key", acme.api_key)

    page = browser_like.get(f"/dashboard/lines/{line['id']}").text

    # The same story by hour (48 h) and by day (30 d); the sink transport delivers every message.
    assert page.count("<polyline") == 6
    for chart in ("hourly-chart", "activity-chart"):
        assert series_total(page, chart, "sent") == 16
        assert series_total(page, chart, "delivered") == 16
        assert series_total(page, chart, "failed") == 0
        assert series_total(page, chart, "replies") == 1
    assert "<script" not in page.split("</main>")[0]  # charts need no script (CSP without inline script)
    history = page.split('data-testid="health-history"')[1].split("</figure>")[0]
    assert "No health change yet: the line has been HEALTHY throughout." in history
    worst = page.split('data-testid="worst-chats"')[1].split("</table>")[0]
    silent = [chats[h] for h in handles[1:]]
    assert sorted(re.findall(r'data-chat="([^"]+)"', worst)) == sorted(silent)
    assert chats[handles[0]] not in worst
    assert "No audit yet." in page


def test_run_audit_shows_the_report_with_action_items(
    browser_like: httpx.Client, cli: Cli, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme = make_partner("Acme")
    line = cli("lines", "assign", LINE, "--partner", acme.id)
    cli("lines", "flag", LINE, "--reason", "carrier report")
    cli("reputation", "score", "--line", LINE)
    log_in(browser_like, "/dashboard", "api_key", acme.api_key)
    path = f"/dashboard/lines/{line['id']}"
    page = browser_like.get(path).text
    assert "flagged" in page.split('data-testid="drivers"')[1].split("</div>")[0]

    forged = browser_like.post(f"{path}/audit", data={"csrf": "nope"})
    assert "form expired" in forged.text and "No audit yet." in forged.text
    started = browser_like.post(f"{path}/audit", data={"csrf": csrf_of(page)})
    assert "Audit started" in started.text

    report = wait_until(
        lambda: (lambda p: p if "Action items" in p else None)(browser_like.get(path).text), what="the report"
    )
    assert "Move active traffic off this line" in report


def test_another_partner_cannot_audit_or_read_the_line(
    browser_like: httpx.Client, cli: Cli, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme, globex = make_partner("Acme"), make_partner("Globex")
    line = cli("lines", "assign", LINE, "--partner", acme.id)
    log_in(browser_like, "/dashboard", "api_key", globex.api_key)
    csrf = csrf_of(browser_like.get("/dashboard").text)

    attempt = browser_like.post(f"/dashboard/lines/{line['id']}/audit", data={"csrf": csrf})

    assert attempt.status_code == 404 and LINE not in attempt.text
