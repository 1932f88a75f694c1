"""Admins add, rename, move and retire units at run time, on the real servers: every service
takes the change from the config topic, so intake takes reports for a new village and refuses
them for a retired one, the router routes to the new village's mediators and escalates a moved
village's case to its new town, and nothing is ever left without its parent or its cases.

Every unit here is one the test adds itself (its id unique to the run) below a Hanyin town;
no Hanyin unit is moved or retired, so the tests sharing the stack see Hanyin as shipped."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.admin import UnitChanged, UnitEntry, unit_key
from services.auth import Role
from tests.auth import as_needed, headers
from tests.factories import hotline_body
from tests.integration.conftest import Stack
from tests.integration.kafka_tools import produce
from tests.integration.mediation_helpers import get_case
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SHUANGRU, PUXI = "hanyin-shuangru", "hanyin-puxi"
JIANGHE = "hanyin-shuangru-jianghe"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(auth=as_needed, timeout=20) as client:
        yield client


def fresh_id(parent_id: str) -> str:
    """A unit id no other test (nor an earlier run) uses."""
    return f"{parent_id}-x{uuid.uuid4().hex[:8]}"


async def add_unit(
    client: httpx.AsyncClient, stack: Stack, parent_id: str, kind: str = "village", **fields: Any
) -> dict[str, Any]:
    body = {
        "id": fresh_id(parent_id),
        "kind": kind,
        "parent_id": parent_id,
        "name": "新庄村" if kind == "village" else "一网格",
        "name_en": "Xinzhuang",
        **fields,
    }
    answer = await client.post(f"{stack.urls['router']}/v1/units", json=body)
    assert answer.status_code == 201, answer.text
    view: dict[str, Any] = answer.json()
    assert answer.headers["etag"] == f'"{view["revision"]}"'
    return view


async def give_mediator(client: httpx.AsyncClient, stack: Stack, unit_id: str) -> str:
    mediator_id = f"med-{unit_id}-1"
    answer = await client.put(
        f"{stack.urls['router']}/v1/units/{unit_id}/mediators",
        json={"mediators": [{"id": mediator_id, "name": "王新"}]},
    )
    assert answer.status_code == 200, answer.text
    assert [m["id"] for m in answer.json()["mediators"]] == [mediator_id]
    return mediator_id


def report_at(village_id: str) -> dict[str, Any]:
    body = hotline_body(village_id=village_id)
    for party in body["parties"]:
        party["village_id"] = village_id
        party["phone"] = f"139{uuid.uuid4().int % 10**8:08d}"
    return body


async def file_report(client: httpx.AsyncClient, stack: Stack, village_id: str) -> str:
    """Filed once intake has read the change that added the village (until then it refuses
    the place, as it refuses any place the registry does not hold)."""
    body = report_at(village_id)

    async def filed() -> httpx.Response | None:
        answer = await client.post(f"{stack.urls['intake']}/v1/disputes", json=body)
        return answer if answer.status_code == 202 else None

    answer = await eventually(filed, what=f"intake taking reports for {village_id}")
    dispute_id: str = answer.json()["dispute_id"]
    return dispute_id


async def case_where(
    client: httpx.AsyncClient, stack: Stack, case_id: str, **wanted: Any
) -> dict[str, Any] | None:
    case = await get_case(client, stack.urls["mediation"], case_id)
    if case is None or any(case.get(key) != value for key, value in wanted.items()):
        return None
    return case


async def act(
    client: httpx.AsyncClient, stack: Stack, case_id: str, mediator_id: str, outcome: str
) -> None:
    """The mediator accepts the case and closes it with `outcome` (`failed` escalates it)."""
    base = f"{stack.urls['mediation']}/v1/cases/{case_id}"
    body = {"mediator_id": mediator_id}
    accepted = await client.post(f"{base}/accept", json=body)
    assert accepted.status_code == 200, accepted.text
    closed = await client.post(
        f"{base}/outcome", json={**body, "outcome": outcome, "reason": "双方各执一词"}
    )
    assert closed.status_code == 200, closed.text


async def unit(client: httpx.AsyncClient, stack: Stack, unit_id: str) -> httpx.Response:
    return await client.get(f"{stack.urls['router']}/v1/units/{unit_id}")


def fields_of(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return {field["field"]: field["message"] for field in answer.json()["fields"]}


async def test_a_village_added_at_run_time_takes_reports_for_its_own_mediator(
    stack: Stack, client: httpx.AsyncClient, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    added = await add_unit(client, stack, SHUANGRU, mediation_body="新庄村人民调解委员会")
    village = added["id"]
    assert (added["parent_id"], added["ancestors"], added["mediators"]) == (
        SHUANGRU,
        [SHUANGRU, "hanyin"],
        [],
    )
    mediator_id = await give_mediator(client, stack, village)
    case_id = await file_report(client, stack, village)
    case = await eventually(
        lambda: case_where(client, stack, case_id, unit_id=village, mediator_id=mediator_id),
        what="the case assigned to the new village's mediator",
    )
    assert case["tier"] == "village"
    await act(client, stack, case_id, mediator_id, "withdrawn")  # mediation knows them too
    trail = mongo[stack.database]["audit"]
    record = await eventually(
        lambda: trail.find_one({"action": "unit.add", "unit_id": village}),
        what="the addition in the audit trail",
    )
    assert (record["actor"], record["outcome"]) == ("admin-1", "allowed")
    assert record["details"]["before"] is None
    assert record["details"]["after"]["parent_id"] == SHUANGRU


async def test_a_rename_shows_at_once_and_a_change_against_a_stale_revision_is_refused(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    village = (await add_unit(client, stack, SHUANGRU))["id"]
    read = await unit(client, stack, village)
    etag = read.headers["etag"]
    assert etag == f'"{read.json()["revision"]}"'
    url = f"{stack.urls['router']}/v1/units/{village}"
    renamed = await client.patch(
        url, json={"name": "新华村", "name_en": "Xinhua"}, headers={"if-match": etag}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["revision"] > read.json()["revision"]
    shown = (await unit(client, stack, village)).json()
    assert (shown["name"], shown["name_en"], shown["parent_id"]) == ("新华村", "Xinhua", SHUANGRU)

    same = await client.patch(url, json={"name": "新华村"})
    assert same.status_code == 200, same.text
    assert same.json()["revision"] == shown["revision"], "nothing changed, nothing counted"

    stale = await client.patch(url, json={"name": "旧名村"}, headers={"if-match": etag})
    assert stale.status_code == 412, stale.text
    assert stale.json()["error"] == "stale_revision"
    assert stale.headers["etag"] == f'"{shown["revision"]}"'
    staffing = await client.put(
        f"{url}/mediators",
        json={"mediators": [{"id": f"med-{village}-1", "name": "王新"}]},
        headers={"if-match": etag},
    )
    assert staffing.status_code == 412, staffing.text
    after = (await unit(client, stack, village)).json()
    assert (after["name"], after["mediators"]) == ("新华村", [])


async def test_two_changes_against_one_revision_one_is_taken_the_other_refused(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    village = (await add_unit(client, stack, SHUANGRU))["id"]
    etag = (await unit(client, stack, village)).headers["etag"]
    url = f"{stack.urls['router']}/v1/units/{village}"
    answers = await asyncio.gather(
        *(
            client.patch(url, json={"name": name}, headers={"if-match": etag})
            for name in ("甲村", "乙村")
        )
    )
    assert sorted(answer.status_code for answer in answers) == [200, 412]
    taken = next(answer for answer in answers if answer.status_code == 200).json()["name"]
    assert (await unit(client, stack, village)).json()["name"] == taken


def unit_change(village_id: str, expected: int | None) -> UnitChanged:
    return UnitChanged(
        occurred_at=datetime.now(UTC),
        correlation_id=unit_key(village_id),
        actor="admin-1",
        role="admin",
        actor_unit_id="hanyin",
        action="add",
        unit_id=village_id,
        unit=UnitEntry(
            id=village_id, kind="village", parent_id=SHUANGRU, name="新村", name_en="Xincun"
        ),
        expected_revision=expected,
    )


async def test_every_service_refuses_a_change_read_after_another_replaced_its_revision(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    """As a replica that checked an older revision would publish it: each service reads it
    after the registry moved on, and each refuses it alike."""
    revision = (await unit(client, stack, "hanyin")).json()["revision"]
    stale, later = fresh_id(SHUANGRU), fresh_id(SHUANGRU)
    for change in (unit_change(stale, revision - 1), unit_change(later, None)):
        await produce(stack.infra.kafka, topics.CONFIG, change.model_dump_json().encode(), b"unit")
    await file_report(client, stack, later)  # intake has read both changes by now
    answer = await client.post(f"{stack.urls['intake']}/v1/disputes", json=report_at(stale))
    assert "village_id" in fields_of(answer)

    async def known_to_the_router() -> httpx.Response | None:
        answer = await unit(client, stack, later)
        return answer if answer.status_code == 200 else None

    seen = await eventually(known_to_the_router, what="the router reading both changes")
    assert seen.json()["revision"] == revision + 1, "the refused change counted no revision"
    assert (await unit(client, stack, stale)).status_code == 404


async def test_a_moved_village_keeps_its_open_case_which_escalates_to_its_new_town(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    village = (await add_unit(client, stack, SHUANGRU))["id"]
    mediator_id = await give_mediator(client, stack, village)
    case_id = await file_report(client, stack, village)
    await eventually(
        lambda: case_where(client, stack, case_id, unit_id=village, mediator_id=mediator_id),
        what="the case at the village",
    )
    moved = await client.patch(
        f"{stack.urls['router']}/v1/units/{village}", json={"parent_id": PUXI}
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["parent_id"], moved.json()["ancestors"]) == (PUXI, [PUXI, "hanyin"])
    assert (await unit(client, stack, village)).json()["parent_id"] == PUXI
    assert village not in [
        child["id"]
        for child in (
            await client.get(f"{stack.urls['router']}/v1/units", params={"parent": SHUANGRU})
        ).json()["items"]
    ]

    await act(client, stack, case_id, mediator_id, "failed")
    up = await eventually(
        lambda: case_where(client, stack, case_id, tier="town"), what="the case one tier up"
    )
    assert up["unit_id"] == PUXI, "escalated along the village's new parent"
    assert up["trace"][-1]["unit_id"] == PUXI
    town_mediator = up["mediator_id"]
    assert town_mediator is not None
    assert town_mediator.startswith(f"med-{PUXI}-")
    await act(client, stack, case_id, town_mediator, "withdrawn")  # leaves Puxi's load as it was


async def test_retiring_waits_for_its_units_and_cases_then_intake_refuses_the_place(
    stack: Stack, client: httpx.AsyncClient, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    router = stack.urls["router"]
    village = (await add_unit(client, stack, SHUANGRU))["id"]
    grid = (await add_unit(client, stack, village, kind="grid"))["id"]
    mediator_id = await give_mediator(client, stack, village)
    case_id = await file_report(client, stack, village)
    await eventually(
        lambda: case_where(client, stack, case_id, unit_id=village, mediator_id=mediator_id),
        what="the case at the village",
    )

    has_units = await client.delete(f"{router}/v1/units/{village}")
    assert has_units.status_code == 409, has_units.text
    assert has_units.json()["error"] == "unit_has_units"
    assert has_units.json()["params"]["unit_ids"] == [grid]
    assert grid in has_units.json()["detail"]
    grid_gone = await client.delete(f"{router}/v1/units/{grid}")
    assert grid_gone.status_code == 200, grid_gone.text
    holds = await client.delete(f"{router}/v1/units/{village}")
    assert holds.status_code == 409, holds.text
    assert holds.json()["error"] == "unit_holds_cases"
    assert holds.json()["params"]["case_ids"] == [case_id]

    await act(client, stack, case_id, mediator_id, "withdrawn")

    async def retired() -> httpx.Response | None:
        # The router reads the case's closing off the lifecycle topic, a moment after.
        answer = await client.delete(f"{router}/v1/units/{village}")
        return None if answer.status_code == 409 else answer

    answer = await eventually(retired, what="the village retired once its case closed")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["unit"]["id"], answer.json()["mediators"]) == (village, [mediator_id])
    assert (await unit(client, stack, village)).status_code == 404

    async def refused_at_intake() -> httpx.Response | None:
        answer = await client.post(f"{stack.urls['intake']}/v1/disputes", json=report_at(village))
        return answer if answer.status_code == 422 else None

    refused = await eventually(refused_at_intake, what="intake refusing the retired village")
    assert "village_id" in fields_of(refused)
    retired_mediator = await client.get(
        f"{stack.urls['mediation']}/v1/cases/{case_id}",
        headers=headers(Role.MEDIATOR, village, mediator_id),
    )
    assert retired_mediator.status_code == 403, "the retired unit's tokens count no more"
    record = await eventually(
        lambda: mongo[stack.database]["audit"].find_one(
            {"action": "unit.retire", "unit_id": village, "outcome": "allowed"}
        ),
        what="the retirement in the audit trail",
    )
    assert record["details"]["mediators"] == [mediator_id]
    assert record["details"]["after"] is None


async def test_bad_changes_are_refused_naming_the_field_and_change_nothing(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    router = stack.urls["router"]
    before = (await unit(client, stack, "hanyin")).json()["revision"]

    async def added(**fields: Any) -> httpx.Response:
        body = {"id": fresh_id(SHUANGRU), "kind": "village", "parent_id": SHUANGRU}
        return await client.post(f"{router}/v1/units", json={**body, "name": "新村", **fields})

    unknown = fields_of(await added(parent_id="hanyin-nowhere"))
    assert unknown == {"parent_id": "'hanyin-nowhere' is not a unit of the file"}
    assert "town" in fields_of(await added(parent_id="hanyin"))["parent_id"]
    assert "parent_id" in fields_of(await added(parent_id=None))
    assert "already" in fields_of(await added(id=JIANGHE))["id"]
    assert "id" in fields_of(await added(id="Not_A_Slug"))
    assert "name" in fields_of(await added(name="村" * 101))
    assert "lon" in fields_of(await added(lat=32.9))
    assert "kind" in fields_of(await added(kind="borough"))
    grid_body = fields_of(await added(kind="grid", parent_id=JIANGHE, mediation_body="委员会"))
    assert set(grid_body) == {"mediation_body"}
    moved_top = await client.patch(f"{router}/v1/units/hanyin", json={"parent_id": SHUANGRU})
    assert "parent_id" in fields_of(moved_top)
    top = await client.delete(f"{router}/v1/units/hanyin")
    assert fields_of(top) == {"unit_id": "the deployment's top unit cannot be retired"}
    wrong_town = await client.patch(f"{router}/v1/units/{JIANGHE}", json={"parent_id": "hanyin"})
    assert "parent_id" in fields_of(wrong_town)
    unknown_unit = await client.patch(f"{router}/v1/units/hanyin-nowhere", json={"name": "无"})
    assert unknown_unit.status_code == 404
    assert (await unit(client, stack, "hanyin")).json()["revision"] == before, "nothing published"


async def test_only_an_admin_changes_units_and_every_refusal_is_audited(
    stack: Stack, client: httpx.AsyncClient, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    router = stack.urls["router"]
    supervisor = headers(Role.SUPERVISOR, SHUANGRU, "sup-shuangru")
    mediator = headers(Role.MEDIATOR, JIANGHE, f"med-{JIANGHE}-1")
    village = fresh_id(SHUANGRU)
    body = {"id": village, "kind": "village", "parent_id": SHUANGRU, "name": "新村"}
    attempts = [
        ("unit.add", await client.post(f"{router}/v1/units", json=body, headers=supervisor)),
        (
            "unit.change",
            await client.patch(
                f"{router}/v1/units/{JIANGHE}", json={"name": "改名村"}, headers=mediator
            ),
        ),
        ("unit.retire", await client.delete(f"{router}/v1/units/{JIANGHE}", headers=supervisor)),
    ]
    for action, answer in attempts:
        assert answer.status_code == 403, (action, answer.text)
        assert answer.json()["error"] == "role_not_allowed"
    trail = mongo[stack.database]["audit"]
    for action, actor in (
        ("unit.add", "sup-shuangru"),
        ("unit.change", f"med-{JIANGHE}-1"),
        ("unit.retire", "sup-shuangru"),
    ):
        record = await eventually(
            partial(trail.find_one, {"action": action, "actor": actor, "outcome": "denied"}),
            what=f"{action} denied in the audit trail",
        )
        assert "admin" in record["details"]["reason"]
    assert (await unit(client, stack, village)).status_code == 404
    assert (await unit(client, stack, JIANGHE)).json()["name"] == "江河村"
