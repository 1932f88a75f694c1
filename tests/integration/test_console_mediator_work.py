"""The mediator's case page in a real browser: times on the county's clock whatever the
browser's zone, a confirmation after each action, and a case changing hands with its contacts."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect

from services.auth import Role
from services.web.i18n import TEXT
from tests.auth import mediator_token, token
from tests.factories import JIANGHE
from tests.integration.browser import browser, screenshot
from tests.integration.conftest import Stack
from tests.integration.test_mediator_work import file_case, stored_case

pytestmark = pytest.mark.integration
__all__ = ["browser"]

CHINA = ZoneInfo("Asia/Shanghai")


async def page_in(browser: Browser, time_zone: str) -> Page:
    context = await browser.new_context(
        viewport={"width": 1100, "height": 900}, locale="zh-CN", timezone_id=time_zone
    )
    return await context.new_page()


def last_china_clock(hour: int, minute: int) -> datetime:
    """The latest moment, not in the future, at which China's clocks showed hour:minute."""
    now = datetime.now(CHINA)
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at <= now else at - timedelta(days=1)


async def test_a_session_entered_at_china_time_is_stored_as_such_and_confirmed(
    stack: Stack, browser: Browser
) -> None:
    case = await file_case(stack)
    case_id, holder = case["case_id"], case["mediator_id"]
    page = await page_in(browser, "America/New_York")  # a browser elsewhere: must not matter
    await page.goto(f"{stack.urls['mediation']}/cases/{case_id}?token={mediator_token(holder)}")
    await page.click("#do-accept")
    await expect(page.locator("#done")).to_have_text(f"✓ {TEXT['done.accept'][0]}")
    await expect(page.locator("#state")).to_have_attribute("data-state", "accepted")
    assert page.url.endswith(f"/cases/{case_id}?done=accept")

    prefilled = await page.locator("#held_at").input_value()
    china_now = datetime.now(CHINA)
    assert prefilled in {
        (china_now - timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M") for m in (0, 1)
    }
    held = last_china_clock(14, 38)
    await page.fill("#held_at", held.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#participants", "李四、王五")
    await page.click("#do-session")
    await expect(page.locator("#done")).to_have_text(f"✓ {TEXT['done.hold_session'][0]}")
    await expect(page.locator("#state")).to_have_attribute("data-state", "in_mediation")
    shown = TEXT["mediator.held_at"][0].replace("{at}", held.strftime("%Y-%m-%d 14:38"))
    await expect(page.locator("#timeline .held-at")).to_have_text(shown)
    await screenshot(page, "mediator-case-confirmed")

    stored = await stored_case(stack, case_id)
    session = next(e for e in stored["timeline"] if e["event"] == "session_held")
    held_utc = datetime.fromisoformat(session["held_at"])
    assert held_utc.astimezone(UTC) == held.astimezone(UTC)
    assert held_utc.astimezone(UTC).strftime("%H:%M") == "06:38"


async def test_a_reassigned_case_moves_its_actions_and_contacts_to_the_new_mediator(
    stack: Stack, browser: Browser
) -> None:
    case = await file_case(stack)
    case_id, holder = case["case_id"], case["mediator_id"]
    colleague = next(m for m in (f"med-{JIANGHE}-1", f"med-{JIANGHE}-2") if m != holder)
    mediation = stack.urls["mediation"]

    theirs = await page_in(browser, "Asia/Shanghai")
    await theirs.goto(f"{mediation}/cases/{case_id}?token={mediator_token(colleague)}")
    await expect(theirs.locator("#not-yours")).to_contain_text(holder)
    await expect(theirs.locator("#do-accept")).to_have_count(0)
    await expect(theirs.locator("#open-contacts")).to_have_count(0)

    supervisor = await page_in(browser, "Asia/Shanghai")
    town = token(Role.SUPERVISOR, "hanyin-shuangru", "supervisor-shuangru")
    await supervisor.goto(f"{mediation}/cases/{case_id}?token={town}")
    await supervisor.select_option("#reassign-to", colleague)
    await supervisor.click("#do-reassign")
    await expect(supervisor.locator("#done")).to_have_text(f"✓ {TEXT['done.reassign'][0]}")
    await expect(supervisor.locator("#assigned-to")).to_have_attribute("data-mediator", colleague)
    await expect(supervisor.locator("#timeline li[data-event=reassigned]")).to_have_count(1)

    await theirs.reload()
    await expect(theirs.locator("#not-yours")).to_have_count(0)
    await theirs.click("#open-contacts")
    await expect(theirs.locator("#contacts li")).to_have_count(1)
    await expect(theirs.locator("#contacts li")).to_contain_text("李四：136")
    await theirs.click("#do-accept")
    await expect(theirs.locator("#state")).to_have_attribute("data-state", "accepted")
    await screenshot(theirs, "mediator-case-reassigned")
