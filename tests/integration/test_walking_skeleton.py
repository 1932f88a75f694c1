"""A hotline dispute travels intake → Kafka → router → mediation queue on the real servers."""

import uuid
from typing import Any

import httpx
import pytest

from contracts import topics
from contracts.events import DisputeReported
from tests.auth import as_needed
from tests.factories import JIANGHE, hotline_body
from tests.integration.conftest import Stack
from tests.integration.kafka_tools import end_offsets, read_until
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def stored(client: httpx.AsyncClient, url: str, case_id: str) -> dict[str, Any] | None:
    response = await client.get(f"{url}/v1/cases/{case_id}")
    return response.json() if response.status_code == 200 else None


async def test_hotline_dispute_reaches_the_village_queue(stack: Stack) -> None:
    mediation = stack.urls["mediation"]
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        response = await client.post(f"{stack.urls['intake']}/v1/disputes", json=hotline_body())
        assert response.status_code == 202, response.text
        accepted = response.json()
        case = await eventually(
            lambda: stored(client, mediation, accepted["dispute_id"]), what="the case"
        )
        # Earlier tests of the run fill the same village: look in the case's mediator's queue.
        queue = await client.get(
            f"{mediation}/v1/units/{JIANGHE}/queue",
            params={"mediator_id": case["mediator_id"], "limit": 500},
        )
        listed = [i for i in queue.json() if i["case_id"] == accepted["dispute_id"]]
        assert listed, (case["mediator_id"], case["state"], len(queue.json()))
        item = listed[0]
        assert item["tracking_number"] == accepted["tracking_number"]
        assert (item["tier"], item["state"], item["priority"]) == (
            "village",
            "assigned",
            "elevated",
        )
        assert case["trace"][0]["rule"] == "village_default"
        assert case["dispute"]["parties"][0]["phone_hash"]


async def test_bad_reports_are_refused_and_only_the_good_one_is_published(stack: Stack) -> None:
    # Other runs may publish on the same broker meanwhile: this run's reports carry a marker.
    marker = f"marker-{uuid.uuid4()}"
    start = await end_offsets(stack.infra.kafka, topics.DISPUTES_REPORTED)
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        intake = f"{stack.urls['intake']}/v1/disputes"
        bad = await client.post(
            intake, content=b'{"channel": "hotline",', headers={"content-type": "application/json"}
        )
        assert bad.status_code == 422
        assert bad.json()["fields"][0]["field"] == "body"
        missing = await client.post(intake, json={"channel": "hotline", "description": marker})
        assert missing.status_code == 422
        assert "category" in {f["field"] for f in missing.json()["fields"]}
        wrong = await client.post(intake, json=hotline_body(description=marker, category="gossip"))
        assert wrong.status_code == 422
        good = await client.post(intake, json=hotline_body(description=marker))
        assert good.status_code == 202
    good_id = good.json()["dispute_id"].encode()
    records = await read_until(
        stack.infra.kafka, start, lambda seen: any(r.key == good_id for r in seen)
    )
    ours = [
        event.dispute.dispute_id
        for event in (DisputeReported.model_validate_json(r.value) for r in records)
        if event.dispute.description == marker
    ]
    assert ours == [good.json()["dispute_id"]]


async def test_every_service_reports_health(stack: Stack) -> None:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        for name, url in stack.urls.items():
            response = await client.get(f"{url}/healthz")
            assert response.status_code == 200, name
            assert all(response.json()["checks"].values()), name
