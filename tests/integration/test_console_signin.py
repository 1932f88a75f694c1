"""Signing in through the consoles' own pages in a real browser, on the real servers: two
people on two consoles in one browser stay who they are, and an admin's new mediator signs in
and works their unit's queue."""

import re

import pytest
from playwright.async_api import Browser, expect

from services.auth import Role
from services.web.i18n import TEXT
from tests.factories import JIANGHE
from tests.integration.browser import browser, new_page, screenshot
from tests.integration.conftest import Stack
from tests.integration.consoles import create_mediator_in_console, sign_in_on
from tests.integration.test_accounts import MEDIATOR, new_name, user
from tests.integration.test_console_operator import TRACKING, fill_call
from tests.integration.test_mediator_work import file_case

pytestmark = pytest.mark.integration
__all__ = ["browser"]


async def test_an_operator_and_a_supervisor_keep_their_own_consoles_in_one_browser(
    stack: Stack, browser: Browser
) -> None:
    intake, notifier = stack.urls["intake"], stack.urls["notifier"]
    operator, supervisor = await user(stack, Role.OPERATOR), await user(stack, Role.SUPERVISOR)
    desk = await new_page(browser)
    supervision = await desk.context.new_page()  # the same browser context: one cookie jar
    await desk.goto(f"{intake}/")
    await screenshot(desk, "signin-page")
    await sign_in_on(desk, f"{intake}/", operator)
    await screenshot(desk, "operator-console-signed-in")
    await sign_in_on(supervision, f"{notifier}/", supervisor)
    operator_is = f"operator {operator} of hanyin"
    supervisor_is = f"supervisor {supervisor} of hanyin"
    for page, identity in ((desk, operator_is), (supervision, supervisor_is)):
        await page.reload()
        await expect(page.locator("#whoami")).to_have_attribute("data-identity", identity)

    await fill_call(desk)  # the session does the job: the towns, then the report itself
    await desk.click("#report button[type=submit]")
    await expect(desk.locator("#tracking")).to_have_text(TRACKING)

    await desk.click("#signout")
    await expect(desk.locator("h1")).to_have_text(TEXT["signin.title"][0])
    await desk.goto(f"{intake}/")
    await expect(desk.locator("#signin")).to_be_visible()
    await supervision.reload()
    await expect(supervision.locator("#whoami")).to_have_attribute("data-identity", supervisor_is)


async def test_an_admin_creates_a_mediator_who_signs_in_and_sees_their_queue(
    stack: Stack, browser: Browser
) -> None:
    admin = await user(stack, Role.ADMIN)
    page = await new_page(browser)
    await sign_in_on(page, f"{stack.urls['router']}/console/users", admin)
    name = new_name("mediator")
    await create_mediator_in_console(page, name, "江河调解员", JIANGHE, MEDIATOR)
    await screenshot(page, "users-console")

    case = await file_case(stack)
    mediator = await (await browser.new_context(locale="zh-CN")).new_page()
    await sign_in_on(mediator, f"{stack.urls['mediation']}/", name)
    await expect(mediator.locator("#whoami")).to_have_attribute(
        "data-identity", f"mediator {MEDIATOR} of {JIANGHE}"
    )
    await expect(mediator.locator("h1")).to_have_text(re.compile(TEXT["mediator.title"][0]))
    await expect(mediator.locator(f'#queue tr[data-case="{case["case_id"]}"]')).to_be_visible()
    await screenshot(mediator, "mediator-console-signed-in")
