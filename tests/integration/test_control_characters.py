"""Text no service stores, on the real servers: control characters in any body of any service
(whatever the content-type parameters), in path ids and query parameters, and bodies nested
past the limit are refused with a 4xx naming the field, before anything is recorded or held."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.audit import AUDIT
from services.auth import Role
from tests.auth import as_needed, headers
from tests.factories import JIANGHE, hotline_body
from tests.integration.conftest import Stack
from tests.integration.mediation_helpers import get_case, mediator_of, publish_routed, routed_case
from tests.waiting import eventually

pytestmark = pytest.mark.integration

NESTED = b"[" * 600 + b"]" * 600


def named(response: httpx.Response) -> list[str]:
    body: Any = response.json()
    if isinstance(body, list):  # GeoReport's shape: "field: message"
        return [entry["description"].split(":", 1)[0] for entry in body]
    return [entry["field"] for entry in body.get("fields", [])]


async def test_json_with_content_type_parameters_is_still_checked(stack: Stack) -> None:
    body = hotline_body(description="两户吵架\u0000了")
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as http:
        response = await http.post(
            f"{stack.urls['intake']}/v1/disputes",
            json=body,
            headers={"content-type": "application/json; profile=form"},
        )
    assert response.status_code == 422, response.text
    assert named(response) == ["description"]


async def test_form_bodies_are_checked_too(stack: Stack) -> None:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as http:
        response = await http.put(
            f"{stack.urls['router']}/v1/policy",
            content=b"version=1&note=a%00b",
            headers={**headers(Role.ADMIN), "content-type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 422, response.text
    assert named(response) == ["note"]


@pytest.mark.parametrize("service", ["intake", "router", "mediation", "notifier"])
async def test_a_body_nested_too_deeply_is_refused_by_every_service(
    stack: Stack, service: str
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{stack.urls[service]}/v1/anything",
            content=NESTED,
            headers={**headers(Role.ADMIN), "content-type": "application/json"},
        )
    assert response.status_code == 422, response.text
    assert named(response) == ["body"]
    assert response.json()["fields"][0]["params"] == {"max_depth": 32}


@pytest.mark.parametrize(
    ("service", "path", "field"),
    [
        ("intake", "/v1/disputes/HY%00", "path.reference"),
        ("intake", "/v1/disputes/HY%00/contacts", "path.reference"),
        ("intake", "/open311/v2/requests/HY%00.json", "path.request_id"),
        ("mediation", "/v1/cases/c%00", "path.case_id"),
        ("mediation", "/v1/units/hanyin%00/queue", "path.unit_id"),
        ("notifier", "/v1/subscriptions/a%01b", "path.subscription_id"),
        ("mediation", f"/v1/units/{JIANGHE}/queue?mediator_id=m%00", "query.mediator_id"),
    ],
)
async def test_control_characters_in_path_ids_and_queries_are_named(
    stack: Stack, service: str, path: str, field: str
) -> None:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as http:
        response = await http.get(f"{stack.urls[service]}{path}", headers=headers(Role.ADMIN))
    assert 400 <= response.status_code < 500, response.text
    assert named(response) == [field]


async def test_a_refused_session_note_leaves_the_case_free(stack: Stack) -> None:
    decision = routed_case(JIANGHE)
    url, mediator = stack.urls["mediation"], mediator_of(JIANGHE)
    await publish_routed(stack.infra.kafka, [decision])
    base = f"{url}/v1/cases/{decision.case_id}"
    held_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    session = {"mediator_id": mediator, "held_at": held_at}
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as http:
        await eventually(lambda: get_case(http, url, decision.case_id), what="the stored case")
        assert (await http.post(f"{base}/accept", json={"mediator_id": mediator})).is_success
        refused = await http.post(
            f"{base}/sessions", json=session | {"participants": ["张三"], "notes": "谈\u0000妥"}
        )
        assert refused.status_code == 422, refused.text
        assert named(refused) == ["notes"]
        # Nothing held: the same mediator records the session at once.
        held = await http.post(f"{base}/sessions", json=session | {"participants": ["张三"]})
        assert held.status_code == 200, held.text
        case = await get_case(http, url, decision.case_id)
    assert case is not None
    assert [entry["event"] for entry in case["timeline"]][-1] == "session_held"


async def test_a_refused_subscription_leaves_no_audit_record(
    stack: Stack, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    name = "镇长\u0000"
    body = {"unit_id": "hanyin", "delivery": {"type": "sse"}, "name": name}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{stack.urls['notifier']}/v1/subscriptions",
            json=body,
            headers=headers(Role.SUPERVISOR, subject="sup-nul"),
        )
    assert response.status_code == 422, response.text
    assert named(response) == ["name"]
    database = mongo[stack.database]
    assert await database[AUDIT].count_documents({"actor": "sup-nul"}) == 0
    assert await database["subscriptions"].count_documents({"name": name}) == 0
