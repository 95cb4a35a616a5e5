"""Lists that scale, in a real browser: a partner with 1,000 lines searches, filters, pages and exports
them; the console pages through every line and partner; no list stops silently; nobody sees another
partner's lines."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import Page, expect

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.lines import service as lines
from phoneline.lines.models import HealthStatus
from phoneline.settings import Settings
from tests.conftest import LiveServer, PartnerAccount
from tests.dashboard.conftest import next_page, screenshot
from tests.dashboard.test_browser import log_in_operator, log_in_partner

LINE_COUNT = 1000
ACTOR = "operator:test"


def number(index: int) -> str:
    return f"+1202555{index:04d}"


def seed_lines(
    settings: Settings,
    partner_id: str,
    numbers: list[str],
    *,
    flagged: list[str] = (),  # type: ignore[assignment]
    sinking: list[str] = (),  # type: ignore[assignment]
) -> None:
    """Assign (and flag, or walk down in health) through the services, in a worker thread: Playwright
    keeps an event loop on the main thread."""

    async def work() -> None:
        engine = create_engine(settings, pool=False)
        try:
            async with create_sessionmaker(engine)() as session:
                for each in numbers:
                    await lines.assign_line(session, each, partner_id, actor=ACTOR)
                await session.flush()
                for each in flagged:
                    await lines.flag_line(session, each, actor=ACTOR, reason="carrier report")
                for each in sinking:
                    line = await lines.require_line(session, each)
                    await lines.set_health(session, line, HealthStatus.AT_RISK, actor="reputation")
                    await lines.set_health(session, line, HealthStatus.CRITICAL, actor="reputation")
                await session.commit()
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, work()).result()


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def shown_numbers(page: Page) -> list[str]:
    return page.locator("tbody tr[data-line]").evaluate_all("rows => rows.map(r => r.dataset.line)")


def test_partner_searches_filters_pages_and_exports_a_thousand_lines(
    page: Page,
    live_server: LiveServer,
    settings: Settings,
    make_partner: Callable[[str], PartnerAccount],
) -> None:
    acme, globex = make_partner("Acme"), make_partner("Globex")
    seed_lines(
        settings,
        acme.id,
        [number(i) for i in range(LINE_COUNT)],
        flagged=[number(i) for i in (5, 505, 905)],
        sinking=[number(7)],
    )
    seed_lines(settings, globex.id, ["+13105550100"])
    log_in_partner(page, live_server, acme.api_key)

    # Pages of 100, in number order, with a next link and (after the first) a previous one.
    expect(page.locator(".stats")).to_contain_text(f"{LINE_COUNT}")
    assert shown_numbers(page) == [number(i) for i in range(100)]
    expect(page.locator("a[rel=prev]")).to_have_count(0)
    screenshot(page, "lines-first-page")
    seen = list(shown_numbers(page))
    while page.locator("a[rel=next]").count():
        next_page(page)
        current = shown_numbers(page)
        assert 0 < len(current) <= 100
        seen += current
    assert seen == [number(i) for i in range(LINE_COUNT)]  # every line, once, none skipped
    page.click("a[rel=prev]")
    assert shown_numbers(page) == [number(i) for i in range(800, 900)]

    # The trend of the line that went down shows it; steady lines say so.
    page.goto(f"{live_server.url}/dashboard?q=5550007")
    expect(page.locator("tr[data-line='+12025550007'] [data-trend]")).to_have_attribute("data-trend", "worse")
    expect(page.locator("tr[data-line='+12025550007'] svg title")).to_contain_text("HEALTHY → CRITICAL")

    # Search: digits anywhere in the number, punctuation ignored.
    page.goto(f"{live_server.url}/dashboard")
    page.fill("input[name=q]", "(555) 09")
    page.click("text=Filter")
    assert shown_numbers(page) == [number(i) for i in range(900, 1000)]
    expect(page.locator("a[rel=next]")).to_have_count(0)
    page.select_option("select[name=status]", "FLAGGED")
    page.click("text=Filter")
    assert shown_numbers(page) == [number(905)]
    screenshot(page, "lines-search-and-filter")

    # The CSV export holds the filtered list, whole: here the flagged lines, then every line.
    with page.expect_download() as download:
        page.click("[data-testid=export-csv]")
    exported = rows_of(open(download.value.path(), encoding="utf-8").read())  # noqa: SIM115
    assert [row["number"] for row in exported] == [number(905)]
    assert exported[0]["status"] == "FLAGGED" and exported[0]["flag_reason"] == "carrier report"
    everything = page.request.get(f"{live_server.url}/dashboard/lines.csv")
    assert everything.headers["content-type"].startswith("text/csv")
    numbers = [row["number"] for row in rows_of(everything.text())]
    assert numbers == [number(i) for i in range(LINE_COUNT)]  # Globex's line is never in Acme's export
    health = rows_of(page.request.get(f"{live_server.url}/dashboard/lines.csv?health=CRITICAL").text())
    assert [row["number"] for row in health] == [number(7)]

    # Another partner's number finds nothing; a hand-edited page link is one clear sentence.
    page.goto(f"{live_server.url}/dashboard?q=3105550100")
    expect(page.locator("tbody")).to_contain_text("No lines match.")
    broken = page.request.get(f"{live_server.url}/dashboard?after=not-a-cursor")
    assert broken.status == 400 and "That page link is not valid" in broken.text()


def test_console_pages_through_every_line_and_partner_and_exports_them(
    page: Page,
    live_server: LiveServer,
    settings: Settings,
    make_partner: Callable[[str], PartnerAccount],
) -> None:
    partners = [make_partner(f"Partner {i:03d}") for i in range(120)]
    seed_lines(settings, partners[0].id, [number(i) for i in range(LINE_COUNT // 2)])
    seed_lines(settings, partners[1].id, [number(i) for i in range(LINE_COUNT // 2, LINE_COUNT)])
    log_in_operator(page, live_server)

    # Partners: 100 a page, then the rest; search by name; CSV of all.
    expect(page.locator("tbody tr[data-partner]")).to_have_count(100)
    next_page(page)
    expect(page.locator("tbody tr[data-partner]")).to_have_count(20)
    expect(page.locator(".pager")).to_contain_text("End of the list")
    page.fill("input[name=q]", "partner 11")
    page.click("text=Search")
    expect(page.locator("tbody tr[data-partner]")).to_have_count(10)  # Partner 110 … 119
    exported = rows_of(page.request.get(f"{live_server.url}/console/partners.csv").text())
    assert len(exported) == 120 and exported[0]["name"] == "Partner 000" and exported[0]["lines"] == "500"

    # Lines: more than the old silent cut-off of 200, every one reachable.
    page.goto(f"{live_server.url}/console/lines")
    seen = list(shown_numbers(page))
    while page.locator("a[rel=next]").count():
        next_page(page)
        seen += shown_numbers(page)
    assert seen == [number(i) for i in range(LINE_COUNT)]
    expect(page.locator(".pager")).to_contain_text("End of the list")
    screenshot(page, "console-lines-last-page")
    page.fill("input[name=q]", "5550999")
    page.click("text=Search")
    assert shown_numbers(page) == [number(999)]
    expect(page.locator("tr[data-line='+12025550999']")).to_contain_text("Partner 001")
    exported = rows_of(page.request.get(f"{live_server.url}/console/lines.csv").text())
    assert len(exported) == LINE_COUNT and exported[-1]["partner"] == "Partner 001"
