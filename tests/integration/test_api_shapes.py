"""Bodies in the shapes people already have, on the real servers: a hotline report pasted
whole into the router's explain, and mediators acting as who they signed in as."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.auth import Role
from tests.auth import headers, mediator_token
from tests.factories import JIANGHE, hotline_body
from tests.integration.conftest import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

ADMIN = headers(Role.ADMIN)


def full_hotline_report(**overrides: Any) -> dict[str, Any]:
    """Everything an operator files on the hotline, routing's fields or not."""
    report = {
        "address_text": "江河村三组",
        "caller": {"name": "王五", "phone": "13711112222", "is_party": False},
        "parties": [
            {
                "kind": "person",
                "name": "李四",
                "phone": "13912345678",
                "village_id": JIANGHE,
                "household_id": f"{JIANGHE}-h012",
                "household_color": "yellow",
            }
        ],
    }
    return hotline_body(**{**report, **overrides})


async def explain(stack: Stack, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            f"{stack.urls['router']}/v1/routing/explain", json=body, headers=ADMIN
        )


# --- explain takes a hotline report -------------------------------------------------------------


async def test_explain_takes_a_pasted_hotline_report_and_answers_tier_and_unit(
    stack: Stack,
) -> None:
    report = full_hotline_report()
    async with httpx.AsyncClient(timeout=10) as client:
        filed = await client.post(
            f"{stack.urls['intake']}/v1/disputes", json=report, headers=headers(Role.OPERATOR)
        )
    assert filed.status_code == 202, filed.text  # the very body intake takes
    village = await explain(stack, report)
    town = await explain(stack, {**report, "amount_yuan": 80_000})
    assert village.status_code == 200, village.text
    assert (village.json()["tier"], village.json()["unit_id"]) == ("village", JIANGHE)
    assert village.json()["trace"][0]["rule"] == "village_default"
    assert town.status_code == 200, town.text
    assert (town.json()["tier"], town.json()["unit_id"]) == ("town", "hanyin-shuangru")
    for answer in (village, town):
        assert "13912345678" not in answer.text
        assert "13711112222" not in answer.text


async def test_explain_refuses_real_errors_naming_the_field(stack: Stack) -> None:
    nowhere = "hanyin-shuangru-nowhere"
    answers = {
        "village_id": await explain(stack, full_hotline_report(village_id=nowhere)),
        "parties.0.village_id": await explain(
            stack, full_hotline_report(parties=[{"name": "李四", "village_id": nowhere}])
        ),
        "grid_id": await explain(
            stack, full_hotline_report(grid_id="hanyin-chengguan-huayuan-g01")
        ),
        "category": await explain(stack, full_hotline_report(category="potholes")),
        "villag_id": await explain(stack, {**full_hotline_report(), "villag_id": JIANGHE}),
    }
    codes = {}
    for field, answer in answers.items():
        assert answer.status_code == 422, (field, answer.text)
        [entry] = answer.json()["fields"]
        assert entry["field"] == field, answer.text
        codes[field] = entry["code"]
    assert codes == {
        "village_id": "unknown_village",
        "parties.0.village_id": "unknown_village",
        "grid_id": "grid_not_in_village",
        "category": "enum",
        "villag_id": "extra_forbidden",
    }


# --- mediators act as themselves ----------------------------------------------------------------


async def filed_case(stack: Stack, client: httpx.AsyncClient) -> dict[str, Any]:
    # A phone of its own, so no earlier resolution makes this one a rebound.
    phone = f"137{uuid.uuid4().int % 10**8:08d}"
    party = {"name": "李四", "phone": phone, "village_id": JIANGHE}
    filed = await client.post(
        f"{stack.urls['intake']}/v1/disputes",
        json=hotline_body(parties=[party]),
        headers=headers(Role.OPERATOR),
    )
    assert filed.status_code == 202, filed.text
    case_id = filed.json()["dispute_id"]

    async def stored() -> dict[str, Any] | None:
        found = await client.get(f"{stack.urls['mediation']}/v1/cases/{case_id}", headers=ADMIN)
        return found.json() if found.status_code == 200 else None

    return await eventually(stored, what="the case in mediation")


async def test_a_mediator_acts_without_naming_themselves_and_never_as_another(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        case = await filed_case(stack, client)
        mediator = case["mediator_id"]
        other = next(m for m in (f"med-{JIANGHE}-1", f"med-{JIANGHE}-2") if m != mediator)
        as_mediator = {"Authorization": f"Bearer {mediator_token(mediator)}"}
        url = f"{stack.urls['mediation']}/v1/cases/{case['case_id']}"
        as_other = await client.post(
            f"{url}/accept", json={"mediator_id": other}, headers=as_mediator
        )
        by_admin = await client.post(f"{url}/accept", json={}, headers=ADMIN)
        accepted = await client.post(f"{url}/accept", json={}, headers=as_mediator)
        held = await client.post(
            f"{url}/sessions",
            json={"held_at": datetime.now(UTC).isoformat(), "participants": ["李四", "王五"]},
            headers=as_mediator,
        )
        named_self = await client.post(
            f"{url}/outcome",
            json={
                "outcome": "resolved",
                "mediator_id": mediator,  # still taken: it is the caller
                "agreement": "oral",
                "summary": "双方和解",
            },
            headers=as_mediator,
        )
        after = (await client.get(url, headers=ADMIN)).json()
    assert as_other.status_code == 403
    assert as_other.json()["error"] == "acting_as_other"
    assert other in as_other.json()["detail"]
    assert by_admin.status_code == 403
    assert by_admin.json()["error"] == "act_outside_unit"
    assert accepted.status_code == 200, accepted.text
    assert held.status_code == 200, held.text
    assert named_self.status_code == 200, named_self.text
    assert after["state"] == "resolved"
    acted = [e for e in after["timeline"] if e["event"] in ("accepted", "session_held", "resolved")]
    assert [e["event"] for e in acted] == ["accepted", "session_held", "resolved"]
    assert {e["mediator_id"] for e in acted} == {mediator}
