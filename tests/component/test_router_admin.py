"""Admins change the policy and a unit's mediators over HTTP: who may, what is checked, what
is audited, and that the next decision uses the change (changes applied in this process)."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from router.app import create_app
from router.policy import DEFAULT_POLICY_PATH
from router.settings import RouterSettings
from services.auth import Role
from tests.auth import headers
from tests.factories import JIANGHE
from tests.fakes import InMemoryAuditTrail

SHIPPED = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
LOWER_TOWN = SHIPPED.replace("amount_yuan_at_least: 50000", "amount_yuan_at_least: 20000")
ADMIN = headers(Role.ADMIN)
YAML = {**ADMIN, "content-type": "application/yaml"}
JSON = {**ADMIN, "content-type": "application/json"}
SUPERVISOR = headers(Role.SUPERVISOR, "hanyin-shuangru", "sup-shuangru")
MEDIATOR = headers(Role.MEDIATOR, JIANGHE, f"med-{JIANGHE}-1")
TOWN_CASE = {"category": "neighbour", "village_id": JIANGHE, "amount_yuan": 30_000}


@pytest.fixture
def audit() -> InMemoryAuditTrail:
    return InMemoryAuditTrail()


@pytest.fixture
def app(tmp_path: Any, audit: InMemoryAuditTrail) -> FastAPI:
    policy = tmp_path / "policy.yaml"
    policy.write_text(SHIPPED, encoding="utf-8")
    return create_app(RouterSettings(policy_path=policy), audit=audit, share_changes=False)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
        yield client


async def explained(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    answer = await client.post("/v1/routing/explain", json=body, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_admin_changes_the_policy_as_yaml_and_the_next_decision_uses_it(
    client: httpx.AsyncClient, audit: InMemoryAuditTrail
) -> None:
    before = await client.get("/v1/policy", headers=MEDIATOR)
    assert before.headers["etag"] == f'"{before.json()["version"]}"'
    assert (await explained(client, **TOWN_CASE))["tier"] == "village"
    changed = await client.put(
        "/v1/policy",
        content=LOWER_TOWN,
        headers={**YAML, "if-match": before.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["version"] != before.json()["version"]
    assert (body["source"], body["changed_by"]) == ("api", "admin-1")
    assert body["policy"]["town"]["amount_yuan_at_least"] == 20_000
    decision = await explained(client, **TOWN_CASE)
    assert (decision["tier"], decision["policy_version"]) == ("town", body["version"])
    record = audit.records[-1]
    assert (record.action, record.actor, record.outcome) == ("policy.change", "admin-1", "allowed")
    assert record.details["version"] == body["version"]
    assert record.details["previous_version"] == before.json()["version"]


async def test_the_document_get_returns_is_accepted_back_as_json(
    client: httpx.AsyncClient,
) -> None:
    current = (await client.get("/v1/policy", headers=ADMIN)).json()
    document = current["policy"]
    document["rebound"]["window_days"] = 60
    changed = await client.put("/v1/policy", json=document, headers=JSON)
    assert changed.status_code == 200, changed.text
    assert changed.json()["policy"] == document
    document["rebound"]["window_days"] = 90  # back to the shipped content: the same version
    restored = await client.put("/v1/policy", json=document, headers=JSON)
    assert restored.json()["version"] == current["version"]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (SHIPPED.replace("amount_yuan_at_least: 50000", "amount_yuan_at_least: -1"),
         "town.amount_yuan_at_least"),
        (SHIPPED.replace("medical]", "medicine]"), "town.categories.3"),
        (SHIPPED.replace("  min_reports: 2", "  min_reportz: 2"), "rebound.min_reportz"),
        ("[1, 2]", "body"),
        ("town: [", "body"),
    ],
)  # fmt: skip
async def test_a_bad_policy_is_refused_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient, audit: InMemoryAuditTrail, text: str, field: str
) -> None:
    before = (await client.get("/v1/policy", headers=ADMIN)).json()["version"]
    refused = await client.put("/v1/policy", content=text, headers=YAML)
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid_policy"
    assert field in [entry["field"] for entry in refused.json()["fields"]]
    assert (await client.get("/v1/policy", headers=ADMIN)).json()["version"] == before
    assert audit.records == []  # nothing was changed, so nothing to record


async def test_a_cross_field_check_is_refused_naming_both_fields(
    client: httpx.AsyncClient,
) -> None:
    text = SHIPPED.replace("people_at_least: 10", "people_at_least: 60")
    refused = await client.put("/v1/policy", content=text, headers=YAML)
    assert refused.status_code == 422
    [entry] = refused.json()["fields"]
    assert entry["field"] == "body"
    assert "town.people_at_least" in entry["message"]


async def test_a_stale_if_match_is_refused_and_audited(
    client: httpx.AsyncClient, audit: InMemoryAuditTrail
) -> None:
    first = (await client.get("/v1/policy", headers=ADMIN)).headers["etag"]
    taken = await client.put("/v1/policy", content=LOWER_TOWN, headers={**YAML, "if-match": first})
    assert taken.status_code == 200
    again = SHIPPED.replace("window_days: 90", "window_days: 30")
    stale = await client.put("/v1/policy", content=again, headers={**YAML, "if-match": first})
    assert stale.status_code == 412
    assert stale.headers["etag"] == f'"{taken.json()["version"]}"'
    in_force = (await client.get("/v1/policy", headers=ADMIN)).json()
    assert in_force["version"] == taken.json()["version"]
    assert (audit.records[-1].action, audit.records[-1].outcome) == ("policy.change", "denied")


@pytest.mark.parametrize(
    ("caller", "status"),
    [({}, 401), (SUPERVISOR, 403), (MEDIATOR, 403), (headers(Role.OPERATOR), 403)],
)
async def test_only_admins_change_the_policy(
    client: httpx.AsyncClient,
    audit: InMemoryAuditTrail,
    caller: dict[str, str],
    status: int,
) -> None:
    before = (await client.get("/v1/policy", headers=ADMIN)).json()["version"]
    refused = await client.put("/v1/policy", content=LOWER_TOWN, headers=caller)
    assert refused.status_code == status
    if status == 403:
        assert "admin" in refused.json()["detail"]
        assert (audit.records[-1].outcome, audit.records[-1].action) == ("denied", "policy.change")
    assert (await client.get("/v1/policy", headers=ADMIN)).json()["version"] == before


async def test_admin_replaces_a_villages_mediators_and_assignment_follows(
    client: httpx.AsyncClient, audit: InMemoryAuditTrail
) -> None:
    newcomer = f"med-{JIANGHE}-7"
    changed = await client.put(
        f"/v1/units/{JIANGHE}/mediators",
        json={"mediators": [{"id": newcomer, "name": "王新", "categories": ["family"]}]},
        headers=ADMIN,
    )
    assert changed.status_code == 200, changed.text
    [mediator] = changed.json()["mediators"]
    assert (mediator["id"], mediator["categories"]) == (newcomer, ["family", "other"])
    # The newcomer's token counts from now on; the mediators taken off the list no longer do.
    as_newcomer = headers(Role.MEDIATOR, JIANGHE, newcomer)
    unit = (await client.get(f"/v1/units/{JIANGHE}", headers=as_newcomer)).json()
    assert [m["id"] for m in unit["mediators"]] == [newcomer]
    removed = await client.get(f"/v1/units/{JIANGHE}", headers=MEDIATOR)
    assert (removed.status_code, removed.json()["error"]) == (403, "mediator_not_listed")
    decision = await explained(client, category="neighbour", village_id=JIANGHE)
    assert decision["mediator_id"] == newcomer
    record = audit.records[-1]
    assert (record.action, record.unit_id) == ("unit.mediators.change", JIANGHE)
    assert record.details["before"] == [f"med-{JIANGHE}-1", f"med-{JIANGHE}-2"]
    assert record.details["after"] == [newcomer]


async def test_a_known_mediator_keeps_their_categories_when_none_are_given(
    client: httpx.AsyncClient,
) -> None:
    known = (await client.get(f"/v1/units/{JIANGHE}", headers=ADMIN)).json()["mediators"][0]
    changed = await client.put(
        f"/v1/units/{JIANGHE}/mediators",
        json={"mediators": [{"id": known["id"], "name": "改名"}]},
        headers=ADMIN,
    )
    assert changed.status_code == 200, changed.text
    [mediator] = changed.json()["mediators"]
    assert (mediator["name"], mediator["categories"]) == ("改名", known["categories"])


@pytest.mark.parametrize(
    ("unit_id", "body", "status", "field"),
    [
        ("hanyin-nowhere", {"mediators": [{"id": "med-x-1", "name": "甲"}]}, 404, None),
        (JIANGHE, {"mediators": [{"id": "Med 1", "name": "甲"}]}, 422, "mediators.0.id"),
        (JIANGHE, {"mediators": [{"id": "med-x-1", "name": ""}]}, 422, "mediators.0.name"),
        (JIANGHE, {"mediators": []}, 422, "mediators"),
        (JIANGHE, {"mediators": [{"id": "m-1", "name": "甲"}, {"id": "m-1", "name": "乙"}]},
         422, "mediators"),
        (JIANGHE, {"mediators": [{"id": "m-1", "name": "甲", "categories": ["chess"]}]},
         422, "mediators.0.categories.0"),
        (JIANGHE, {"mediators": [{"id": "med-hanyin-1", "name": "林春华"}]},
         422, "mediators.0.id"),
        (f"{JIANGHE}-g03", {"mediators": [{"id": "m-1", "name": "甲"}]}, 422, "unit_id"),
    ],
)  # fmt: skip
async def test_a_bad_mediator_change_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    unit_id: str,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    before = (await client.get(f"/v1/units/{JIANGHE}", headers=ADMIN)).json()["mediators"]
    refused = await client.put(f"/v1/units/{unit_id}/mediators", json=body, headers=ADMIN)
    assert refused.status_code == status, refused.text
    if field is not None:
        assert field in [entry["field"] for entry in refused.json()["fields"]]
    after = (await client.get(f"/v1/units/{JIANGHE}", headers=ADMIN)).json()["mediators"]
    assert after == before


async def test_only_admins_change_mediators_and_refusals_come_before_body_checks(
    client: httpx.AsyncClient, audit: InMemoryAuditTrail
) -> None:
    path = f"/v1/units/{JIANGHE}/mediators"
    unauthenticated = await client.put(path, json={})
    as_supervisor = await client.put(path, json={}, headers=SUPERVISOR)
    as_mediator = await client.put(
        path, json={"mediators": [{"id": "med-x-1", "name": "甲"}]}, headers=MEDIATOR
    )
    assert unauthenticated.status_code == 401
    assert (as_supervisor.status_code, as_mediator.status_code) == (403, 403)
    assert [(r.actor, r.outcome, r.unit_id) for r in audit.records] == [
        ("sup-shuangru", "denied", JIANGHE),
        (f"med-{JIANGHE}-1", "denied", JIANGHE),
    ]
