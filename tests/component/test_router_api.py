"""The router's HTTP face: browse units, explain a decision, read the policy in force."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from router.app import create_app
from router.settings import RouterSettings
from tests.auth import as_needed
from tests.factories import JIANGHE
from tests.fakes import InMemoryAuditTrail


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(RouterSettings(), audit=InMemoryAuditTrail(), share_changes=False)
    app.state.models.load.assigned("c1", 1, f"med-{JIANGHE}-2")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        auth=as_needed, transport=transport, base_url="http://router"
    ) as client:
        yield client


async def test_unit_shows_its_place_mediators_and_their_load(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"/v1/units/{JIANGHE}")).json()
    assert (body["kind"], body["name"], body["parent_id"]) == (
        "village",
        "江河村",
        "hanyin-shuangru",
    )
    assert body["ancestors"] == ["hanyin-shuangru", "hanyin"]
    assert body["children"]["grid"] >= 30
    assert [(m["id"], m["open_cases"]) for m in body["mediators"]] == [
        (f"med-{JIANGHE}-1", 0),
        (f"med-{JIANGHE}-2", 1),
    ]
    assert (await client.get("/v1/units/hanyin-nowhere")).status_code == 404


async def test_units_by_parent_and_kind_are_paginated(client: httpx.AsyncClient) -> None:
    towns = (await client.get("/v1/units", params={"parent": "hanyin", "kind": "town"})).json()
    assert towns["total"] == 10
    assert "hanyin-shuangru" in [unit["id"] for unit in towns["items"]]
    villages = (await client.get("/v1/units", params={"kind": "village", "limit": 500})).json()
    assert villages["total"] == 156
    seen: list[str] = []
    params: dict[str, Any] = {"parent": "hanyin-shuangru", "kind": "grid", "limit": 200}
    while True:
        page = (await client.get("/v1/units", params=params)).json()
        seen.extend(unit["id"] for unit in page["items"])
        if page["next_offset"] is None:
            break
        params["offset"] = page["next_offset"]
    assert len(seen) == len(set(seen)) == page["total"] > 200
    assert all(unit_id.startswith("hanyin-shuangru-") for unit_id in seen)
    bad = await client.get("/v1/units", params={"kind": "province"})
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["field"] == "query.kind"


async def test_explain_returns_the_decision_and_why(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/routing/explain",
        json={
            "category": "neighbour",
            "village_id": JIANGHE,
            "amount_yuan": 80_000,
            "parties": [{"village_id": JIANGHE, "household_color": "red"}],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["tier"], body["unit_id"], body["priority"]) == ("town", "hanyin-shuangru", "high")
    step = body["trace"][0]
    assert (step["rule"], step["inputs"]["amount_yuan"]) == ("town_amount", 80_000)
    policy = (await client.get("/v1/policy")).json()
    assert step["policy_version"] == body["policy_version"] == policy["version"]
    assert policy["policy"]["town"]["amount_yuan_at_least"] == 50_000


async def test_explain_refuses_unknown_fields_naming_them(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/routing/explain", json={"category": "neighbour", "villag_id": JIANGHE}
    )
    assert response.status_code == 422
    assert response.json()["fields"] == [
        {
            "field": "villag_id",
            "message": "Extra inputs are not permitted",
            "code": "extra_forbidden",  # for consoles that word it in their own language
            "params": {},
        }
    ]


async def test_explain_without_a_place_goes_to_the_county_desk(client: httpx.AsyncClient) -> None:
    body = (
        await client.post(
            "/v1/routing/explain", json={"category": "neighbour", "address_text": "河边"}
        )
    ).json()
    assert (body["tier"], body["unit_id"], body["trace"][0]["rule"]) == (
        "county",
        "hanyin",
        "unknown_location",
    )
