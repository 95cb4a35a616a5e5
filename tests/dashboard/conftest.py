"""A real headless Chromium (Debian's `chromium`) driven by Playwright; screenshots kept as artifacts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Module scope: Playwright's sync API keeps an event loop on the main thread while it runs, which
# would stop later tests from calling asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Debian's `chromium` is required for the browser tests (.ci/run installs it).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def next_page(page: Page) -> None:
    """Follow the pager's next link and wait for the new page: rows read right after a bare click can
    come from the old document, or from the new one before it has any (a page silently skipped)."""
    with page.expect_navigation():
        page.click("a[rel=next]")


@pytest.fixture
def browser_pages(browser: Browser) -> Iterator[tuple[Page, Page]]:
    """Two independent browser sessions (operator and partner) side by side."""
    contexts = [browser.new_context(viewport={"width": 1280, "height": 860}) for _ in range(2)]
    yield contexts[0].new_page(), contexts[1].new_page()
    for context in contexts:
        context.close()


# Servers with the dispatcher on, and real receivers (the Webhooks page needs deliveries).
from tests.webhooks.conftest import make_receiver, start_app  # noqa: E402

__all__ = ["make_receiver", "start_app"]
