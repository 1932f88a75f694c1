"""A day's whole job through the consoles' pages only, on the real servers: everyone signs in
with a user name and password; the supervisor subscribes a webhook and sees its secret once;
an operator files a town-level dispute with a risk sign, which reaches the supervisor's page
and webhook, and looks up a colleague's report; an admin creates the account of the town
mediator who got the case, who works it to the end on the county's clock beside the
operator's console in the same browser."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from pymongo import AsyncMongoClient

from services.auth import Role
from tests.auth import as_needed, fresh_token
from tests.factories import JIANGHE, hotline_body
from tests.integration.browser import browser, new_page, screenshot
from tests.integration.conftest import Stack
from tests.integration.consoles import (
    SHUANGRU,
    create_mediator_in_console,
    fill_town_level_call,
    sign_in_on,
)
from tests.integration.notifier_support import Receiver, verify, webhook_receiver
from tests.integration.test_accounts import browsing, new_name, sign_in, user
from tests.integration.test_console_mediator_work import last_china_clock
from tests.integration.test_console_operator import TRACKING
from tests.integration.test_mediator_work import a_phone, stored_case
from tests.waiting import eventually

pytestmark = pytest.mark.integration
__all__ = ["browser"]


async def subscribe_a_webhook(page: Page, receiver: Receiver) -> str:
    """On the supervisor console: a webhook for every alert kind; the secret it shows once."""
    name = f"值班室 {uuid.uuid4().hex[:6]}"
    await page.fill("#url", receiver.url("duty-desk"))
    await page.fill("#name", name)
    await page.click("#subscribe button[type=submit]")
    await expect(page.locator("#secret-panel")).to_be_visible()
    secret = await page.locator("#secret").inner_text()
    assert len(secret) >= 20
    await page.click("#secret-done")
    await expect(page.locator(f'button[data-name="{name}"]')).to_be_visible()
    await page.reload()
    await expect(page.locator(f'button[data-name="{name}"]')).to_be_visible()
    await expect(page.locator("#secret-panel")).to_be_hidden()
    assert secret not in await page.content()  # shown once, never again
    return secret


@pytest.fixture
async def receiver(stack: Stack) -> AsyncIterator[Receiver]:
    """A supervisor's webhook endpoint for the test. The subscriptions to it go with it: later
    tests' alerts are not to be sent to a receiver that is gone."""
    with webhook_receiver() as listening:
        try:
            yield listening
        finally:
            await unsubscribe_all_to(stack, listening.url(""))


async def unsubscribe_all_to(stack: Stack, url_prefix: str) -> None:
    subscriptions = f"{stack.urls['notifier']}/v1/subscriptions"
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as admin:
        listed = await admin.get(subscriptions)
        assert listed.status_code == 200, listed.text
        for found in listed.json():
            if str(found["delivery"].get("url", "")).startswith(url_prefix):
                gone = await admin.delete(f"{subscriptions}/{found['subscription_id']}")
                assert gone.status_code == 204, gone.text


async def filed_by_colleague(stack: Stack, name: str, phone: str) -> str:
    """Another operator's report, filed under their own signed-in session: its number."""
    intake = stack.urls["intake"]
    party = {"name": "周五", "phone": phone, "village_id": JIANGHE}
    async with browsing() as client:
        signed = await sign_in(client, intake, name)
        assert signed.status_code == 303, signed.text
        answer = await client.post(
            f"{intake}/v1/disputes",
            json=hotline_body(parties=[party]),
            headers={"Origin": intake, "Accept": "application/json"},
        )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["tracking_number"])


async def dispute_id_of(stack: Stack, tracking_number: str) -> str:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        found = await client.get(f"{stack.urls['intake']}/v1/disputes/{tracking_number}")
    assert found.status_code == 200, found.text
    return str(found.json()["dispute_id"])


def hooks_about(receiver: Receiver, case_id: str) -> list[dict[str, Any]]:
    return [
        {"alert": hook.payload["alert"], "hook": hook}
        for hook in receiver.at("duty-desk")
        if hook.payload["type"] == "alert" and hook.payload["alert"]["case_id"] == case_id
    ]


async def identity_is(page: Page, identity: str) -> None:
    await page.reload()
    await expect(page.locator("#whoami")).to_have_attribute("data-identity", identity)


async def test_people_sign_in_and_do_their_whole_job(
    stack: Stack, browser: Browser, mongo: AsyncMongoClient[dict[str, Any]], receiver: Receiver
) -> None:
    intake, mediation = stack.urls["intake"], stack.urls["mediation"]
    operator, colleague = await user(stack, Role.OPERATOR), await user(stack, Role.OPERATOR)
    supervisor, admin = await user(stack, Role.SUPERVISOR, SHUANGRU), await user(stack, Role.ADMIN)

    # The town's supervisor subscribes first: the day's alerts are to reach their webhook.
    supervision = await new_page(browser)
    await sign_in_on(supervision, f"{stack.urls['notifier']}/", supervisor)
    secret = await subscribe_a_webhook(supervision, receiver)

    # The operator takes a call about two villages of one town, with a weapon involved.
    desk = await new_page(browser)
    await sign_in_on(desk, f"{intake}/", operator)
    phones = (a_phone(), a_phone())
    await fill_town_level_call(desk, risk="weapon", party_phones=phones)
    await desk.click("#report button[type=submit]")
    await expect(desk.locator("#tracking")).to_have_text(TRACKING)
    number = await desk.locator("#tracking").inner_text()
    mine = desk.locator(f'#mine tr[data-tracking="{number}"]')
    await expect(mine).to_have_attribute("data-unit", SHUANGRU, timeout=30_000)
    await expect(mine).to_contain_text("双乳镇")
    await screenshot(desk, "whole-job-operator-filed")
    case_id = await dispute_id_of(stack, number)

    # The urgent risk reaches the supervisor's open page and their webhook, signed.
    alert = supervision.locator("#alerts li", has=supervision.locator(f'a[href$="{case_id}"]'))
    await expect(alert).to_contain_text("紧急风险案件：持械", timeout=30_000)
    await screenshot(supervision, "whole-job-supervisor", readme="supervisor-console")

    async def at_the_webhook() -> list[dict[str, Any]]:
        return hooks_about(receiver, case_id)

    delivered = await eventually(at_the_webhook, what="the alert at the webhook")
    assert delivered[0]["alert"]["kind"] == "urgent_risk"
    assert verify(delivered[0]["hook"].headers, delivered[0]["hook"].body, secret)

    # A caller phones back about a colleague's report: where it stands, never the contacts.
    theirs = a_phone()
    their_number = await filed_by_colleague(stack, colleague, theirs)
    await desk.fill("#lookup-number", their_number)
    await desk.click("#lookup button[type=submit]")
    await expect(desk.locator("#found-tracking")).to_have_text(their_number)
    await expect(desk.locator("#found-place")).to_have_text("江河村")
    await expect(desk.locator("#found-status")).not_to_be_empty()
    shown = await desk.content()
    assert theirs not in shown
    assert "周五" not in shown  # the party's name stays sealed too
    await screenshot(desk, "whole-job-operator", readme="operator-console")

    # The case went to one of the town's mediators; the admin creates their account.
    case = await stored_case(stack, case_id)
    assert (case["tier"], case["unit_id"]) == ("town", SHUANGRU)
    holder = case["mediator_id"]
    users_console = await new_page(browser)
    await sign_in_on(users_console, f"{stack.urls['router']}/console/users", admin)
    mediator = new_name("mediator")
    await create_mediator_in_console(users_console, mediator, "双乳镇调解员", SHUANGRU, holder)

    # The mediator signs in beside the operator, in the same browser: each stays who they are.
    work = await desk.context.new_page()
    await sign_in_on(work, f"{mediation}/", mediator)
    await identity_is(desk, f"operator {operator} of hanyin")
    await identity_is(work, f"mediator {holder} of {SHUANGRU}")

    row = work.locator(f'#queue tr[data-case="{case_id}"]')
    await expect(row).to_be_visible()
    await screenshot(work, "whole-job-mediator-queue", readme="mediator-queue")
    await row.get_by_role("link").click()
    await expect(work.locator("#state")).to_have_attribute("data-state", "assigned")
    await work.click("#do-accept")
    await expect(work.locator("#state")).to_have_attribute("data-state", "accepted")

    held = last_china_clock(14, 38)  # typed on the county's clock
    await work.fill("#held_at", held.strftime("%Y-%m-%dT%H:%M"))
    await work.fill("#participants", "王大、赵二")
    await work.click("#do-session")
    await expect(work.locator("#state")).to_have_attribute("data-state", "in_mediation")
    timeline = (await stored_case(stack, case_id))["timeline"]
    session = next(e for e in timeline if e["event"] == "session_held")
    held_utc = datetime.fromisoformat(session["held_at"]).astimezone(UTC)
    assert held_utc == held.astimezone(UTC)
    assert held_utc.strftime("%H:%M") == "06:38"

    await work.click("#open-contacts")
    await expect(work.locator("#contacts li")).to_have_count(2)
    for phone in phones:
        await expect(work.locator("#contacts")).to_contain_text(phone)
    opened = await mongo[stack.database]["audit"].find_one(
        {"action": "sealed.read", "case_id": case_id}
    )
    assert opened is not None
    assert (opened["actor"], opened["role"], opened["outcome"]) == (holder, "mediator", "allowed")

    await work.select_option("#agreement", "written")
    await work.fill("#summary", "水渠按原线路恢复，两村各出一半费用")
    await work.click("#do-resolve")
    await expect(work.locator("#state")).to_have_attribute("data-state", "resolved")
    await screenshot(work, "whole-job-mediator-case", readme="mediator-case")
    # The operator's list follows the case to its end.
    await expect(mine).to_have_attribute("data-status", "resolved", timeout=30_000)

    # The shift changes at the same desk: the next operator's list is what they filed
    # (elsewhere, too), not what this browser saw filed before.
    await desk.click("#signout")
    await sign_in_on(desk, f"{intake}/", colleague)
    await expect(desk.locator(f'#mine tr[data-tracking="{their_number}"]')).to_be_visible()
    await expect(desk.locator(f'#mine tr[data-tracking="{number}"]')).to_have_count(0)


async def test_my_reports_are_those_i_filed_newest_first_and_no_one_elses(stack: Stack) -> None:
    intake = stack.urls["intake"]
    name = new_name("operator")
    me = fresh_token(Role.OPERATOR, "hanyin", name)
    namesake = fresh_token(Role.OPERATOR, "hanyin-chengguan", name)  # same name, another unit

    async def file(as_whom: str) -> str:
        party = {"name": "李四", "phone": a_phone(), "village_id": JIANGHE}
        answer = await client.post(
            f"{intake}/v1/disputes",
            json=hotline_body(parties=[party]),
            headers={"Authorization": f"Bearer {as_whom}"},
        )
        assert answer.status_code == 202, answer.text
        return str(answer.json()["tracking_number"])

    async def listed(as_whom: str, query: str = "") -> list[str]:
        answer = await client.get(
            f"{intake}/v1/disputes/mine{query}", headers={"Authorization": f"Bearer {as_whom}"}
        )
        assert answer.status_code == 200, answer.text
        return [status["tracking_number"] for status in answer.json()]

    async with httpx.AsyncClient(timeout=10) as client:
        first, second, theirs = await file(me), await file(me), await file(namesake)

        async def both_listed() -> list[str]:
            return [] if len(found := await listed(me)) < 2 else found

        assert await eventually(both_listed, what="my two reports") == [second, first]
        assert await listed(namesake) == [theirs]
        assert await listed(me, "?limit=1") == [second]
