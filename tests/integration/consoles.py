"""What a person does on every console in the browser tests: sign in through the sign-in page,
and, as an admin, create someone's account in the users console."""

from playwright.async_api import Page, expect

from contracts.registry import hanyin
from services.web.i18n import TEXT
from tests.factories import JIANGHE
from tests.integration.test_accounts import PASSWORD


async def sign_in_on(page: Page, url: str, name: str) -> None:
    """Open the console, get the sign-in page, sign in: back on the page asked for."""
    await page.goto(url)
    await expect(page.locator("h1")).to_have_text(TEXT["signin.title"][0])
    await page.fill("#user_name", name)
    await page.fill("#password", PASSWORD)
    await page.click("#signin-submit")
    await expect(page.locator("#whoami")).to_be_visible()


async def pick_unit(page: Page, picker: str, unit_id: str, typed: str | None = None) -> None:
    """In a unit picker, type (part of) the unit's name, as a person does, and pick it from
    the units offered."""
    await page.fill(f"#{picker}", typed or hanyin().units[unit_id].name)
    await page.locator(f'#{picker}-results [role="option"][data-unit="{unit_id}"]').click()
    await expect(page.locator(f"#{picker}-value")).to_have_value(unit_id)


async def create_mediator_in_console(
    users_console: Page, name: str, display_name: str, unit_id: str, mediator_id: str
) -> None:
    """On the users console an admin is signed in to: an account acting as a listed mediator."""
    await users_console.fill("#user_name", name)
    await users_console.fill("#display_name", display_name)
    await users_console.fill("#new-password", PASSWORD)
    await users_console.select_option("#role", "mediator")
    await pick_unit(users_console, "unit_id", unit_id)
    await users_console.locator(f'#subject option[value="{mediator_id}"]').wait_for(
        state="attached"
    )
    await users_console.select_option("#subject", mediator_id)
    await users_console.click("#create-submit")
    await expect(users_console.locator("#done")).to_have_attribute("data-done", "created")
    row = users_console.locator(f'#users tr[data-user="{name}"]')
    await expect(row).to_contain_text(mediator_id)


SHUANGRU = "hanyin-shuangru"
XINYUAN = "hanyin-shuangru-xinyuan"
JIANGHE_GRID = f"{JIANGHE}-g02"


async def fill_town_level_call(
    page: Page,
    *,
    risk: str = "minor_at_risk",
    caller_phone: str = "13612345678",
    party_phones: tuple[str, str] = ("", ""),
) -> None:
    """On the operator console: a call about two parties of two villages of Shuangru town."""
    await pick_unit(page, "village", JIANGHE)
    # The grid is picked by its name from the village's grids.
    await page.locator(f'#grid option[value="{JIANGHE_GRID}"]').wait_for(state="attached")
    await page.select_option("#grid", JIANGHE_GRID)
    await page.fill("#caller-name", "陈来电")
    await page.fill("#caller-phone", caller_phone)
    await page.select_option("#category", "neighbour")
    await page.fill("#description", "两村村民因灌溉水渠改道发生争执")
    for n, (name, village) in enumerate((("王大", JIANGHE), ("赵二", XINYUAN))):
        await page.fill(f"#party-{n}-name", name)
        await page.fill(f"#party-{n}-phone", party_phones[n])
        await pick_unit(page, f"party-{n}-village", village)
    await page.check(f'input[name="risk_flags"][value="{risk}"]')
