"""Headless Chromium from Debian's packages, driven by Playwright (no browser download)."""

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import REQUIRE_INFRA

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
README_PICTURES = Path(__file__).parents[2] / "services" / "web" / "screenshots"
REFRESH_README = os.environ.get("TIAOJIE_README_SCREENSHOTS") == "1"
"""Set to 1 to refresh the README's pictures from this run (left alone otherwise, so a test run
does not change the source tree)."""
# Without these, Chromium keeps trying hosts this machine cannot reach.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not shutil.which(CHROMIUM):
        reason = f"{CHROMIUM} is missing: apt-get install chromium"
        if REQUIRE_INFRA:
            pytest.fail(reason)
        pytest.skip(reason)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


async def new_page(browser: Browser, *, width: int = 1100, locale: str = "zh-CN") -> Page:
    context = await browser.new_context(
        viewport={"width": width, "height": 900}, locale=locale, timezone_id="Asia/Shanghai"
    )
    return await context.new_page()


async def screenshot(page: Page, name: str, *, readme: str | None = None) -> None:
    """Into test-artifacts/; `readme` names the README picture this page also is."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    if readme and REFRESH_README:
        await page.screenshot(path=README_PICTURES / f"{readme}.png", full_page=True)
