"""The operator's and the supervisor's desks in a real browser, on the real servers."""

import re
import uuid
from typing import Any

import pytest
from playwright.async_api import Browser, Dialog, expect
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.vocabulary import AlertKind, Priority
from services.auth import Role
from tests.auth import token
from tests.factories import JIANGHE
from tests.integration.browser import browser, new_page, screenshot
from tests.integration.conftest import Stack
from tests.integration.consoles import SHUANGRU, fill_town_level_call
from tests.integration.kafka_tools import produce
from tests.integration.notifier_support import alert, webhook_receiver
from tests.waiting import eventually

pytestmark = pytest.mark.integration
__all__ = ["browser"]

TRACKING = re.compile(r"^HY-\d{8}-\d{6}$")


async def test_operator_files_a_town_level_dispute_and_a_colleague_looks_it_up(
    stack: Stack, browser: Browser
) -> None:
    page = await new_page(browser)
    await page.goto(f"{stack.urls['intake']}/?token={token(Role.OPERATOR)}")
    await fill_town_level_call(page)
    await page.click("#report button[type=submit]")
    tracking = page.locator("#tracking")
    await expect(tracking).to_have_text(TRACKING)
    number = await tracking.inner_text()
    row = page.locator(f'#mine tr[data-tracking="{number}"]')
    await expect(row).to_have_attribute("data-unit", SHUANGRU, timeout=30_000)
    await expect(row).to_contain_text("双乳镇")  # the town by its name, not its id
    await expect(row).to_contain_text("未成年人受害风险")
    await screenshot(page, "operator-town-level-dispute")

    # The caller phones back and another operator of the county picks up.
    colleague = await new_page(browser, locale="en-US")
    other = token(Role.OPERATOR, "hanyin-chengguan", "operator-chengguan")
    await colleague.goto(f"{stack.urls['intake']}/?token={other}&lang=en")
    await colleague.fill("#lookup-number", number)
    await colleague.click("#lookup button[type=submit]")
    await expect(colleague.locator("#found")).to_be_visible()
    await expect(colleague.locator("#found-unit")).to_contain_text("Shuangru Town")
    await expect(colleague.locator("#found-place")).to_have_text("Jianghe Village")
    await expect(colleague.locator("#found-risks")).to_have_text("Minor at risk")
    await screenshot(colleague, "operator-lookup")


async def publish(stack: Stack, **fields: Any) -> str:
    event = alert(**fields)
    await produce(
        stack.infra.kafka,
        topics.ALERTS,
        event.model_dump_json().encode(),
        event.correlation_id.encode(),
    )
    return event.alert_id


async def test_supervisor_sees_earlier_alerts_and_a_webhook_secret_once_and_deletes_after_asking(
    stack: Stack, browser: Browser, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    earlier = await publish(
        stack, kind=AlertKind.URGENT_RISK, priority=Priority.URGENT, unit_id=JIANGHE
    )
    logged = mongo[stack.database]["alerts"]

    async def in_the_log() -> bool:
        return await logged.count_documents({"_id": earlier}) == 1

    await eventually(in_the_log, what="the earlier alert in the alert log")
    page = await new_page(browser)
    supervisor = token(Role.SUPERVISOR, SHUANGRU, f"sup-{uuid.uuid4().hex[:6]}")
    await page.goto(f"{stack.urls['notifier']}/?unit={SHUANGRU}&token={supervisor}")
    listed = page.locator(f'#alerts li[data-alert="{earlier}"]')
    await expect(listed).to_contain_text("江河村")  # raised before the page was opened

    name = f"值班室 {uuid.uuid4().hex[:6]}"
    with webhook_receiver() as receiver:
        await page.fill("#url", receiver.url("desk"))
        await page.fill("#name", name)
        await page.click("#subscribe button[type=submit]")
        secret = page.locator("#secret")
        await expect(page.locator("#secret-panel")).to_be_visible()
        await expect(secret).to_have_text(re.compile(r"^\S{20,}$"))
        shown = await secret.inner_text()
        await screenshot(page, "supervisor-secret-once")
        await page.click("#secret-done")
        row = page.locator("tr", has=page.locator(f'button[data-name="{name}"]'))
        await expect(row).to_be_visible()
        assert shown not in await page.content()  # never again
        await expect(page.locator("#secret-panel")).to_be_hidden()

        asked: list[str] = []

        async def answer(dialog: Dialog, accept: bool) -> None:
            asked.append(dialog.message)
            await (dialog.accept() if accept else dialog.dismiss())

        page.once("dialog", lambda dialog: answer(dialog, accept=False))
        await row.locator("button").click()
        await expect(row).to_be_visible()  # declined: nothing deleted
        page.once("dialog", lambda dialog: answer(dialog, accept=True))
        await row.locator("button").click()
        await expect(row).to_have_count(0)
    assert len(asked) == 2
    assert all(name in message for message in asked)
