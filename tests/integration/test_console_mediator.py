"""The mediator desk and the supervisor's metrics page in a real browser, on the real servers."""

import re

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from services.auth import Role
from services.web.i18n import TEXT
from tests.auth import as_needed, mediator_token, token
from tests.factories import JIANGHE
from tests.integration.browser import browser, new_page, screenshot
from tests.integration.conftest import Stack
from tests.integration.test_mediator_work import file_case
from tests.waiting import eventually

pytestmark = pytest.mark.integration
__all__ = ["browser"]


async def closed_count(page: Page, url: str) -> int:
    await page.goto(url)
    return int(await page.locator("#closed").inner_text())


async def test_mediator_accepts_records_and_resolves_and_metrics_follow(
    stack: Stack, browser: Browser
) -> None:
    case = await file_case(stack)
    mediation = stack.urls["mediation"]
    supervisor_token = token(Role.SUPERVISOR, "hanyin-shuangru", "supervisor-shuangru")
    metrics_url = f"{mediation}/supervisor/metrics?unit=hanyin-shuangru&token={supervisor_token}"
    supervisor = await new_page(browser)
    closed_before = await closed_count(supervisor, metrics_url)

    page = await new_page(browser)
    mediator = case["mediator_id"]
    await page.goto(
        f"{mediation}/?unit={JIANGHE}&mediator={mediator}&token={mediator_token(mediator)}"
    )
    row = page.locator(f'#queue tr[data-case="{case["case_id"]}"]')
    await expect(row).to_be_visible()
    await screenshot(page, "mediator-queue")
    await row.get_by_role("link").click()
    await expect(page.locator("#state")).to_have_attribute("data-state", "assigned")
    await expect(page.locator("#trace")).to_contain_text(TEXT["rule.village_default"][0])
    await expect(page.locator("#trace .reason")).to_have_text(TEXT["route.village_default"][0])
    await page.click("#do-accept")
    await expect(page.locator("#state")).to_have_attribute("data-state", "accepted")
    await expect(page.locator("#do-accept")).to_have_count(0)

    await page.fill("#participants", "李四, 王五")
    await page.fill("#session-notes", "双方同意清理排水沟")
    await page.click("#do-session")
    await expect(page.locator("#state")).to_have_attribute("data-state", "in_mediation")
    await page.select_option("#agreement", "written")
    await page.fill("#summary", "两户各出一半费用清理排水沟")
    await page.click("#do-resolve")
    await expect(page.locator("#state")).to_have_attribute("data-state", "resolved")
    await expect(page.locator("#do-accept")).to_have_count(0)
    await expect(page.locator("#do-visit")).to_be_visible()
    await screenshot(page, "mediator-case")

    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        again = await client.post(
            f"{mediation}/v1/cases/{case['case_id']}/accept",
            json={"mediator_id": case["mediator_id"]},
        )
    assert again.status_code == 409
    assert again.json()["state"] == "resolved"

    async def counted() -> bool:
        return await closed_count(supervisor, metrics_url) == closed_before + 1

    await eventually(counted, what="the resolution in the metrics page")
    await screenshot(supervisor, "supervisor-metrics")


async def test_refusals_on_the_case_page_say_why_in_chinese(stack: Stack, browser: Browser) -> None:
    case = await file_case(stack)
    mediation, mediator = stack.urls["mediation"], case["mediator_id"]
    page = await new_page(browser)
    await page.goto(
        f"{mediation}/cases/{case['case_id']}?mediator={mediator}&token={mediator_token(mediator)}"
    )
    await expect(page.locator("#state")).to_have_attribute("data-state", "assigned")
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        accepted = await client.post(
            f"{mediation}/v1/cases/{case['case_id']}/accept", json={"mediator_id": mediator}
        )
    assert accepted.status_code == 200, accepted.text
    await page.click("#do-accept")  # the page still offers it: the 409 must say why
    refusal = page.locator('#actions > .error[data-for="body"]')
    await expect(refusal).to_have_text(
        re.compile("^案件当前状态为“已接案”，不能“接案”；现在可办理：记录调解会、")
    )
    await page.reload()
    await page.fill("#participants", "")
    await page.click("#do-session")
    beside = page.locator('.error[data-for="participants"]')
    await expect(beside).to_have_text(TEXT["invalid.too_short"][0].replace("{min_length}", "1"))
    await expect(page.locator("#state")).to_have_attribute("data-state", "accepted")
    await screenshot(page, "mediator-case-refused")
