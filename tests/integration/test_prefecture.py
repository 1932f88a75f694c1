"""A prefecture loaded at run time through `python -m router registry import`, beside Hanyin on
the same running stack: a dispute across two of its counties goes to the prefecture, a county
failure escalates there, and the prefecture's figures roll its counties up. A bad file is
refused naming line and field, and nothing of it is loaded."""

import subprocess
import sys
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from contracts import topics
from contracts.registry import Registry, load_registry
from router.whatif import read_topic
from services.auth import Role
from tests.auth import token
from tests.factories import hotline_body
from tests.integration.conftest import Stack
from tests.integration.mediation_helpers import get_case
from tests.integration.notifier_support import SECRET, subscribe, webhook_receiver
from tests.waiting import eventually

pytestmark = pytest.mark.integration
SAMPLE = Path("contracts/data/xiangxi.csv")
SAMPLE_TEXT = SAMPLE.read_text(encoding="utf-8")
XIANGXI = load_registry(SAMPLE)
PREFECTURE = XIANGXI.top.id
LUXI, FENGHUANG = (unit.id for unit in XIANGXI.children_of(PREFECTURE, "county"))


def bearer(role: Role, unit_id: str = PREFECTURE, subject: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, unit_id, subject)}"}


def first_village(registry: Registry, county_id: str) -> str:
    town = registry.children_of(county_id, "town")[0]
    return registry.children_of(town.id, "village")[0].id


def run_import(stack: Stack, path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "router", "registry", "import", str(path)]
    return subprocess.run(
        command, env=stack.env, capture_output=True, text=True, timeout=120, check=False
    )


async def unit_known(http: httpx.AsyncClient, stack: Stack, unit_id: str) -> bool:
    response = await http.get(
        f"{stack.urls['router']}/v1/units/{unit_id}", headers=bearer(Role.ADMIN, "hanyin")
    )
    return response.status_code == 200


@pytest_asyncio.fixture(scope="module")
async def prefecture(stack: Stack) -> AsyncIterator[Registry]:
    """The sample imported once, through the command, and known to every service."""
    done = run_import(stack, SAMPLE)
    assert done.returncode == 0, done.stderr
    assert "imported version xiangxi-" in done.stdout
    assert "1 prefecture, 2 county" in done.stdout
    async with httpx.AsyncClient(timeout=10) as http:
        await eventually(lambda: unit_known(http, stack, PREFECTURE), what="the prefecture")
    yield XIANGXI


async def file_report(http: httpx.AsyncClient, stack: Stack, **body: Any) -> str:
    response = await http.post(
        f"{stack.urls['intake']}/v1/disputes",
        json=hotline_body(**body),
        headers=bearer(Role.OPERATOR, PREFECTURE, "operator-xiangxi"),
    )
    assert response.status_code in (200, 201, 202), response.text
    dispute_id: str = response.json()["dispute_id"]
    return dispute_id


async def case_at(
    http: httpx.AsyncClient, stack: Stack, case_id: str, tier: str
) -> dict[str, Any] | None:
    case = await get_case(http, stack.urls["mediation"], case_id)
    return case if case is not None and case["tier"] == tier else None


async def test_a_dispute_across_two_counties_goes_to_the_prefecture(
    stack: Stack, prefecture: Registry
) -> None:
    luxi, fenghuang = first_village(prefecture, LUXI), first_village(prefecture, FENGHUANG)
    parties = [
        {"name": "向大山", "phone": "13912340001", "village_id": luxi},
        {"name": "龙小河", "phone": "13912340002", "village_id": fenghuang},
    ]
    async with httpx.AsyncClient(timeout=10, headers=bearer(Role.ADMIN)) as http:
        case_id = await file_report(http, stack, village_id=luxi, parties=parties)
        case = await eventually(
            lambda: case_at(http, stack, case_id, "prefecture"), what="the prefecture's case"
        )
        # Another operator of the prefecture picks up when the caller phones back.
        colleague = bearer(Role.OPERATOR, PREFECTURE, "operator-xiangxi-2")
        status = await http.get(f"{stack.urls['intake']}/v1/disputes/{case_id}", headers=colleague)
        assert status.status_code == 200, status.text
    assert case["unit_id"] == PREFECTURE
    assert case["mediator_id"] in {m.id for m in prefecture.mediators_of(PREFECTURE)}
    step = case["trace"][0]
    assert step["rule"] == "cross_county"
    assert sorted(step["reason_params"]["counties"]) == sorted([LUXI, FENGHUANG])


async def test_a_county_failure_escalates_to_the_prefecture_which_is_the_top(
    stack: Stack, prefecture: Registry
) -> None:
    village = first_village(prefecture, LUXI)
    parties = [{"name": "向大山", "phone": "13912340003", "village_id": village}]
    with webhook_receiver() as receiver:
        async with httpx.AsyncClient(timeout=10, headers=bearer(Role.ADMIN)) as http:
            await subscribe(
                http,
                stack.urls["notifier"],
                unit_id=PREFECTURE,
                kinds=["escalation"],
                delivery={"type": "webhook", "url": receiver.url("xiangxi"), "secret": SECRET},
            )
            case_id = await file_report(
                http, stack, village_id=village, parties=parties, amount_yuan=600_000
            )
            county = await eventually(partial(case_at, http, stack, case_id, "county"))
            assert county["unit_id"] == LUXI
            await fail(http, stack, case_id, county["mediator_id"], LUXI)
            top = await eventually(partial(case_at, http, stack, case_id, "prefecture"))
            assert top["unit_id"] == PREFECTURE
            assert top["trace"][-1]["rule"] == "escalated_from_county"
            await fail(http, stack, case_id, top["mediator_id"], PREFECTURE)
            final = await get_case(http, stack.urls["mediation"], case_id)

            async def alerted() -> dict[str, dict[str, Any]] | None:
                alerts = [hook.payload["alert"] for hook in receiver.at("xiangxi")]
                mine = {a["title_code"]: a for a in alerts if a["case_id"] == case_id}
                return mine if len(mine) == 2 else None

            alerts = await eventually(alerted, what="both escalations at the prefecture's desk")
    assert final is not None
    assert final["state"] == "failed"
    assert final["awaiting_reroute"] is False, "nothing is above the prefecture"
    assert alerts["escalated"]["details"]["to_unit_id"] == PREFECTURE
    assert alerts["escalated_at_top"]["details"]["from_tier"] == "prefecture"


async def fail(
    http: httpx.AsyncClient, stack: Stack, case_id: str, mediator_id: str, unit_id: str
) -> None:
    base = f"{stack.urls['mediation']}/v1/cases/{case_id}"
    as_mediator = bearer(Role.MEDIATOR, unit_id, mediator_id)
    body = {"mediator_id": mediator_id}
    accepted = await http.post(f"{base}/accept", json=body, headers=as_mediator)
    assert accepted.status_code == 200, accepted.text
    failed = await http.post(
        f"{base}/outcome",
        json={**body, "outcome": "failed", "reason": "双方各执一词"},
        headers=as_mediator,
    )
    assert failed.status_code == 200, failed.text


async def test_the_prefecture_supervisor_sees_its_counties_rolled_up(
    stack: Stack, prefecture: Registry
) -> None:
    async with httpx.AsyncClient(timeout=10, headers=bearer(Role.ADMIN)) as http:
        for county in (LUXI, FENGHUANG):
            village = first_village(prefecture, county)
            parties = [{"name": "田小禾", "phone": "13912340004", "village_id": village}]
            case_id = await file_report(http, stack, village_id=village, parties=parties)
            await eventually(partial(case_at, http, stack, case_id, "village"), what="assigned")

        async def figures_of(unit_id: str, **params: str) -> dict[str, Any]:
            response = await http.get(
                f"{stack.urls['mediation']}/v1/metrics/resolution",
                params={"unit": unit_id, **params},
                headers=bearer(Role.SUPERVISOR, PREFECTURE, "supervisor-xiangxi"),
            )
            assert response.status_code == 200, response.text
            found: dict[str, Any] = response.json()
            return found

        async def rolled_up() -> dict[str, Any] | None:
            """The prefecture's group of each county is that county's own figures."""
            figures = await figures_of(PREFECTURE, by="unit")
            groups = {group["key"]: group["counts"] for group in figures["groups"]}
            for county in (LUXI, FENGHUANG):
                own = (await figures_of(county))["total"]["counts"]
                if own.get("assigned", 0) < 1 or groups.get(county) != own:
                    return None
            return figures

        figures = await eventually(rolled_up, what="each county rolled up into the prefecture")
    assert figures["unit"] == PREFECTURE
    children = {unit.id for unit in prefecture.children_of(PREFECTURE)}
    assert {g["key"] for g in figures["groups"]} <= children, "its own counties, nothing else"
    in_counties = sum(g["counts"].get("assigned", 0) for g in figures["groups"])
    assert figures["total"]["counts"]["assigned"] >= in_counties >= 2
    supervisor = token(Role.SUPERVISOR, PREFECTURE, "supervisor-xiangxi")
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(f"{stack.urls['mediation']}/supervisor/metrics?token={supervisor}")
        alerts = await browser.get(f"{stack.urls['notifier']}/?token={supervisor}")
    assert page.status_code == 200, page.text[:300]
    assert alerts.status_code == 200, alerts.text[:300]
    assert prefecture.top.name in alerts.text, "the alert desk opens on the prefecture"
    for county in (LUXI, FENGHUANG):
        assert prefecture.units[county].name in page.text, "the console names its counties"


async def test_a_bad_file_is_refused_naming_line_and_field_with_nothing_loaded(
    stack: Stack, tmp_path: Path
) -> None:
    lines = SAMPLE_TEXT.splitlines()
    lines = [line.replace("4331", "4399") for line in lines]  # another prefecture's codes
    lines[4] = lines[4].replace(",village,", ",borough,")
    bad = tmp_path / "bad-prefecture.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run_import(stack, bad)
    assert done.returncode == 1
    assert "line 5, kind: 'borough' is not one of" in done.stderr
    assert "nothing loaded" in done.stderr
    records = await read_topic(stack.infra.kafka, topics.CONFIG, 30)
    assert not [r for r in records if b"bad-prefecture" in r], "nothing was published"
    async with httpx.AsyncClient(timeout=10) as http:
        assert not await unit_known(http, stack, PREFECTURE.replace("4331", "4399"))


async def test_a_file_leaving_out_a_unit_with_open_cases_is_refused(
    stack: Stack, prefecture: Registry, tmp_path: Path
) -> None:
    town = prefecture.children_of(FENGHUANG, "town")[-1]
    village = prefecture.children_of(town.id, "village")[-1].id
    parties = [{"name": "麻小溪", "phone": "13912340005", "village_id": village}]
    async with httpx.AsyncClient(timeout=10, headers=bearer(Role.ADMIN)) as http:
        case_id = await file_report(http, stack, village_id=village, parties=parties)
        await eventually(partial(case_at, http, stack, case_id, "village"), what="assigned")
    kept = [line for line in SAMPLE_TEXT.splitlines() if not line.startswith(village)]
    without = tmp_path / "xiangxi-smaller.csv"
    without.write_text("\n".join(kept) + "\n", encoding="utf-8")
    done = run_import(stack, without)
    assert done.returncode == 1, done.stdout
    assert f"{village}: {case_id}" in done.stderr
    assert "nothing loaded" in done.stderr
    async with httpx.AsyncClient(timeout=10) as http:
        assert await unit_known(http, stack, village)
