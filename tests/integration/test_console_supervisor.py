"""The supervisor console in a real browser, on the real servers."""

import uuid

import httpx
import pytest
from playwright.async_api import Browser, expect

from services.auth import Role
from tests.auth import as_needed, token
from tests.factories import hotline_body
from tests.integration.browser import browser, new_page, screenshot
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration
__all__ = ["browser"]


async def test_urgent_risk_alert_appears_without_reloading(stack: Stack, browser: Browser) -> None:
    page = await new_page(browser)
    supervisor = token(Role.SUPERVISOR, "hanyin-shuangru", "supervisor-shuangru")
    await page.goto(f"{stack.urls['notifier']}/?unit=hanyin-shuangru&token={supervisor}")
    # The page opens on the jurisdiction's recent alerts, which earlier tests may have raised.
    await expect(page.locator("#alerts")).to_be_attached()
    marker = f"持刀威胁 {uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        answer = await client.post(
            f"{stack.urls['intake']}/v1/disputes",
            json=hotline_body(description=marker, risk_flags=["weapon"]),
        )
    assert answer.status_code == 202, answer.text
    case_id = answer.json()["dispute_id"]
    alert = page.locator("#alerts li", has=page.locator(f'a[href$="{case_id}"]'))
    await expect(alert).to_contain_text("紧急风险", timeout=30_000)
    await expect(alert).to_contain_text("紧急风险案件：持械")  # its title, worded here
    await expect(page.locator("#no-alerts")).to_be_hidden()
    assert "江河村" in await alert.inner_text()  # the village by its name
    await screenshot(page, "supervisor-console")
