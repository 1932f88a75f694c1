"""The operator console in a real browser, on the real servers."""

import re

import pytest
from playwright.async_api import Browser, Page, expect

from services.auth import Role
from services.web.i18n import EN, TEXT
from tests.auth import token
from tests.factories import JIANGHE
from tests.integration.browser import browser, new_page, screenshot
from tests.integration.conftest import Stack
from tests.integration.consoles import pick_unit

pytestmark = pytest.mark.integration
__all__ = ["browser"]

TRACKING = re.compile(r"^HY-\d{8}-\d{6}$")


async def fill_call(page: Page, *, phone: str = "13912345678") -> None:
    await pick_unit(page, "village", JIANGHE)
    await page.select_option("#category", "neighbour")
    await page.fill("#description", "两户因排水沟堵塞发生争吵，请求村里调解")
    await page.fill("#party-0-name", "李四")
    await page.fill("#party-0-phone", phone)
    await page.select_option("#party-0-color", "yellow")


async def test_operator_files_a_dispute_and_watches_its_status_move_on(
    stack: Stack, browser: Browser
) -> None:
    page = await new_page(browser)
    await page.goto(f"{stack.urls['intake']}/?token={token(Role.OPERATOR)}")
    await fill_call(page)
    await page.click("button[type=submit]")
    tracking = page.locator("#tracking")
    await expect(tracking).to_have_text(TRACKING)
    number = await tracking.inner_text()
    row = page.locator(f'#mine tr[data-tracking="{number}"]')
    await expect(row).to_have_attribute("data-status", "assigned", timeout=30_000)
    await expect(row).to_contain_text("已分派")
    await expect(row).to_have_attribute("data-unit", JIANGHE)
    await expect(row).to_contain_text("江河村")  # named, not shown by its id
    await screenshot(page, "operator-console")


async def test_a_refused_input_shows_its_message_beside_the_field(
    stack: Stack, browser: Browser
) -> None:
    page = await new_page(browser, width=360)
    await page.goto(f"{stack.urls['intake']}/?token={token(Role.OPERATOR)}")
    await fill_call(page, phone="call me")
    await page.click("button[type=submit]")
    message = page.locator('.error[data-for="parties.0.phone"]')
    await expect(message).to_have_text(TEXT["invalid.phone_invalid"][0])  # worded by its code
    await expect(page.locator("#party-0-phone")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#done")).to_be_hidden()
    await screenshot(page, "operator-console-refused-360px")


async def test_language_toggle_switches_every_visible_string(
    stack: Stack, browser: Browser
) -> None:
    page = await new_page(browser)
    await page.goto(f"{stack.urls['intake']}/?token={token(Role.OPERATOR)}")
    await expect(page.locator("h1")).to_have_text(TEXT["operator.title"][0])
    await page.click("#lang-toggle")
    await expect(page.locator("h1")).to_have_text(TEXT["operator.title"][1])
    assert await page.locator("html").get_attribute("lang") == EN
    visible = await page.locator("body").inner_text()
    left_in_chinese = [zh for zh, en in TEXT.values() if zh != en and zh in visible]
    assert left_in_chinese == []
