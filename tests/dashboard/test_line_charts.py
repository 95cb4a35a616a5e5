"""Time made visible, in Chromium under a Content-Security-Policy with no inline script or style: the
line page's health history (every transition and its drivers), the 48-hour and 30-day activity charts,
and the lines list's trend."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from linq import LinqAPIV3
from playwright.sync_api import ConsoleMessage, Page, Route, expect

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.lines import service as lines
from phoneline.lines.models import HealthStatus
from phoneline.settings import Settings
from tests.conftest import Cli, LiveServer, PartnerAccount
from tests.dashboard.conftest import screenshot
from tests.dashboard.test_browser import log_in_partner

LINE = "+12025550123"
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'"
AT_RISK_DRIVERS = "overall_conversation_health: reply rate 10% over 7 days (2 in / 20 out)"
CRITICAL_DRIVERS = (
    "overall_conversation_health: reply rate 0% over 7 days (0 in / 40 out); "
    "new_conversations: 210 brand-new conversations today"
)


def text(value: str) -> dict[str, Any]:
    return {"parts": [{"type": "text", "value": value}]}


def walk_health_down(settings: Settings) -> None:
    """Two recorded health changes with their drivers, through the service the reputation engine calls."""

    async def work() -> None:
        engine = create_engine(settings, pool=False)
        try:
            async with create_sessionmaker(engine)() as session:
                line = await lines.require_line(session, LINE)
                await lines.set_health(
                    session, line, HealthStatus.AT_RISK, actor="reputation", reason=AT_RISK_DRIVERS
                )
                await lines.set_health(
                    session, line, HealthStatus.CRITICAL, actor="reputation", reason=CRITICAL_DRIVERS
                )
                await session.commit()
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, work()).result()


def with_csp(page: Page) -> list[str]:
    """Serve every page with the policy; returns the console's CSP violations as they come."""
    violations: list[str] = []

    def add_policy(route: Route) -> None:
        response = route.fetch(max_redirects=0)
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.route("**/*", add_policy)
    page.on("console", note)
    return violations


def test_line_page_shows_health_over_time_and_hourly_activity_under_csp(
    page: Page,
    live_server: LiveServer,
    settings: Settings,
    cli: Cli,
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
) -> None:
    acme = make_partner("Acme")
    line = cli("lines", "assign", LINE, "--partner", acme.id)
    client = linq(acme.api_key)
    for i in range(3):
        chat = client.chats.create(from_=LINE, to=[f"+1415555{2000 + i:04d}"], message=text("Hi!"))
        client.chats.messages.send(chat.chat.id, message=text("Following up"))
    cli("sim", "inbound", "--line", LINE, "--from", "+14155552000", "--text", "Sure")
    walk_health_down(settings)
    violations = with_csp(page)
    log_in_partner(page, live_server, acme.api_key)

    # The lines list: the trend says the line got worse.
    row = page.locator(f"tr[data-line='{LINE}']")
    expect(row.locator("[data-trend]")).to_have_attribute("data-trend", "worse")
    expect(row.locator("svg.sparkline polyline")).to_be_visible()

    page.goto(f"{live_server.url}/dashboard/lines/{line['id']}")
    history = page.locator("[data-testid=health-history]")
    expect(history.locator("rect.healthy")).to_have_count(1)
    expect(history.locator("rect.at-risk")).to_have_count(1)
    expect(history.locator("rect.critical")).to_have_count(1)
    transitions = history.locator("[data-testid=health-transitions] tbody tr")
    expect(transitions).to_have_count(2)  # newest first, each with the drivers recorded at the time
    expect(transitions.nth(0)).to_contain_text("AT_RISK → CRITICAL")
    expect(transitions.nth(0).locator("li")).to_have_count(2)
    expect(transitions.nth(0)).to_contain_text("210 brand-new conversations today")
    expect(transitions.nth(1)).to_contain_text("HEALTHY → AT_RISK")
    expect(transitions.nth(1)).to_contain_text("reply rate 10% over 7 days")

    hourly = page.locator("[data-testid=hourly-chart]")
    expect(hourly.locator(".columns rect")).to_have_count(48)
    expect(hourly.locator("[data-series=sent]")).to_have_text("6")
    expect(hourly.locator("[data-series=delivered]")).to_have_text("6")
    expect(hourly.locator("[data-series=replies]")).to_have_text("1")
    current_hour = hourly.locator(".columns rect").last
    assert float(current_hour.get_attribute("height") or 0) > 0
    expect(current_hour.locator("title")).to_contain_text("6 sent, 6 delivered, 0 failed, 1 replies")
    expect(page.locator("[data-testid=activity-chart] [data-series=sent]")).to_have_text("6")
    expect(page.locator("text=confirmed delivered by the carrier")).to_be_visible()
    # Rendered, sized and styled by the stylesheet: the policy blocked nothing.
    box = hourly.locator("svg").bounding_box()
    assert box is not None and box["width"] > 300
    screenshot(page, "line-health-history-and-charts")
    assert violations == []
