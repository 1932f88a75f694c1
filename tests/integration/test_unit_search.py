"""Finding a unit by what a person types, on the real servers: the router's units API searches
the registry by name or id, within a subtree, naming each unit's path; the consoles search
through their own session, a supervisor's within their jurisdiction; a page no longer carries
the whole registry; and a person picks a unit by typing in a console's picker."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from contracts.registry import hanyin
from services.auth import Role
from tests.auth import as_needed, headers, token
from tests.factories import JIANGHE
from tests.integration.browser import browser, new_page, screenshot
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration
__all__ = ["browser"]

LIYA = "hanyin-jianchi-liya"
"""梨垭村 of 涧池镇: the only village whose name holds 梨垭."""
READER = headers(Role.OPERATOR, "hanyin-chengguan", "operator-chengguan")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(auth=as_needed, timeout=20) as client:
        yield client


async def units(
    client: httpx.AsyncClient, stack: Stack, **params: Any
) -> tuple[int, dict[str, Any]]:
    answer = await client.get(f"{stack.urls['router']}/v1/units", params=params, headers=READER)
    return answer.status_code, answer.json()


async def test_a_village_is_found_by_part_of_its_name_and_names_its_path(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    status, page = await units(client, stack, q="梨垭")
    assert status == 200, page
    first = page["items"][0]
    assert first["id"] == LIYA  # the village before its grids
    assert first["path"] == "汉阴县 › 涧池镇 › 梨垭村"
    assert first["path_en"] == "Hanyin County › Jianchi Town › Liya Village"
    assert {item["kind"] for item in page["items"][1:]} == {"grid"}
    assert page["total"] == 1 + len(hanyin().children_of(LIYA))

    status, english = await units(client, stack, q="liya VILLAGE", kind="village")
    assert [item["id"] for item in english["items"]] == [LIYA]


async def test_an_id_prefix_finds_the_unit_before_the_units_below_it(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    status, page = await units(client, stack, q="hanyin-jianchi-li", limit=3)
    assert status == 200, page
    assert page["items"][0]["id"] == LIYA
    assert all(item["id"].startswith(f"{LIYA}-g") for item in page["items"][1:])
    assert page["next_offset"] == 3
    assert page["total"] > 3


async def test_within_keeps_the_search_to_a_subtree(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    status, inside = await units(client, stack, q="梨垭", within="hanyin-jianchi", kind="village")
    assert status == 200
    assert [item["id"] for item in inside["items"]] == [LIYA]
    status, outside = await units(client, stack, q="梨垭", within="hanyin-shuangru")
    assert status == 200
    assert (outside["items"], outside["total"]) == ([], 0)
    status, unknown = await units(client, stack, q="梨垭", within="hanyin-nowhere")
    assert status == 404
    assert unknown["error"] == "unit_not_found"


@pytest.mark.parametrize("bad", ["梨" * 51, "梨\x07垭"])
async def test_a_bad_query_is_refused_naming_it(
    stack: Stack, client: httpx.AsyncClient, bad: str
) -> None:
    status, refusal = await units(client, stack, q=bad)
    assert status == 422, refusal
    assert [problem["field"] for problem in refusal["fields"]] == ["query.q"]


async def test_a_supervisor_searches_their_own_jurisdiction_on_their_console(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    supervisor = token(Role.SUPERVISOR, "hanyin-shuangru", "sup-shuangru-search")
    search = f"{stack.urls['notifier']}/console/units/search"
    mine = await client.get(search, params={"q": "江河", "token": supervisor})
    assert mine.status_code == 200, mine.text
    assert mine.json()["items"][0]["id"] == JIANGHE
    assert mine.json()["items"][0]["path"] == "汉阴县 › 双乳镇 › 江河村"
    others = await client.get(search, params={"q": "梨垭", "token": supervisor})
    assert others.status_code == 200
    assert others.json()["items"] == []
    elsewhere = {"q": "梨垭", "within": "hanyin-jianchi", "token": supervisor}
    assert (await client.get(search, params=elsewhere)).status_code == 403

    # An operator files for the whole county: their console finds every village.
    operator = token(Role.OPERATOR, "hanyin-chengguan", "operator-chengguan")
    found = await client.get(
        f"{stack.urls['intake']}/console/units/search",
        params={"q": "梨垭", "kind": "village", "token": operator},
    )
    assert [item["id"] for item in found.json()["items"]] == [LIYA]
    named = await client.get(
        f"{stack.urls['intake']}/console/units/named",
        params=[("id", LIYA), ("id", "hanyin-shuangru"), ("token", operator)],
    )
    assert {key: value["name"] for key, value in named.json().items()} == {
        LIYA: "梨垭村",
        "hanyin-shuangru": "双乳镇",
    }
    refused = await client.get(
        f"{stack.urls['intake']}/console/units/search", params={"q": "x" * 51, "token": operator}
    )
    assert refused.status_code == 422
    assert [problem["field"] for problem in refused.json()["fields"]] == ["query.q"]


async def test_pages_carry_the_units_they_show_not_the_registry(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    """A village far from the page's unit appears on none of them."""
    far = hanyin().units[LIYA]
    pages = {
        "intake": f"{stack.urls['intake']}/?token={token(Role.OPERATOR)}",
        "desk": f"{stack.urls['mediation']}/?unit=hanyin-shuangru&token={token(Role.ADMIN)}",
        "metrics": f"{stack.urls['mediation']}/supervisor/metrics?unit=hanyin-shuangru"
        f"&token={token(Role.ADMIN)}",
        "supervisor": f"{stack.urls['notifier']}/?unit=hanyin-shuangru"
        f"&token={token(Role.SUPERVISOR, 'hanyin-shuangru', 'sup-shuangru-pages')}",
        "users": f"{stack.urls['router']}/console/users?token={token(Role.ADMIN)}",
    }
    for name, url in pages.items():
        page = await client.get(url)
        assert page.status_code == 200, (name, page.text[:300])
        assert far.id not in page.text, name
        assert far.name not in page.text, name
        assert page.text.count('value="hanyin-') <= 2, name  # no list of units to choose from


async def test_a_person_types_part_of_a_name_and_picks_the_unit(
    stack: Stack, browser: Browser
) -> None:
    page = await new_page(browser)
    admin = token(Role.ADMIN)
    await page.goto(f"{stack.urls['mediation']}/?unit=hanyin&token={admin}")
    picker = page.locator("#unit")
    await expect(picker).to_have_value("汉阴县")  # the page's own unit, by name
    await picker.fill("江河")
    offered = page.locator('#unit-results [role="option"]')
    await expect(offered.first).to_have_attribute("data-unit", JIANGHE)
    await expect(offered.first).to_contain_text("汉阴县 › 双乳镇 › 江河村")
    assert await offered.count() <= 10
    await screenshot(page, "unit-picker")
    await picker.press("ArrowDown")
    await picker.press("Enter")  # picks the one marked; does not send the form yet
    await expect(picker).to_have_value("江河村")
    await expect(page.locator("#unit-value")).to_have_value(JIANGHE)
    await page.click("form button[type=submit]")
    await expect(page).to_have_url(f"{stack.urls['mediation']}/?unit={JIANGHE}&mediator=")
    await expect(page.locator("h1")).to_contain_text("江河村")
