from typing import Any

import httpx
import pytest
from faststream.kafka import TestKafkaBroker

from contracts import topics
from contracts.events import DisputeReported
from intake.app import create_app
from intake.settings import IntakeSettings
from tests.auth import as_needed
from tests.factories import hotline_body
from tests.fakes import InMemoryIntakeStore


async def post(app: Any, body: Any, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        auth=as_needed, transport=transport, base_url="http://intake"
    ) as client:
        if isinstance(body, bytes):
            return await client.post("/v1/disputes", content=body, **kwargs)
        return await client.post("/v1/disputes", json=body, **kwargs)


async def test_hotline_report_is_published_once_with_a_tracking_number(capture: Any) -> None:
    app = create_app(IntakeSettings(), store=InMemoryIntakeStore())
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    async with TestKafkaBroker(app.state.broker):
        response = await post(app, hotline_body())
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["tracking_number"].startswith("HY-")
    assert len(captured.bodies) == 1
    event = DisputeReported.model_validate_json(captured.bodies[0])
    assert event.dispute.dispute_id == accepted["dispute_id"]
    assert event.correlation_id == accepted["dispute_id"]
    assert captured.messages[0].raw_message.key == accepted["dispute_id"].encode()


async def test_phone_never_travels_in_clear(capture: Any) -> None:
    app = create_app(IntakeSettings(), store=InMemoryIntakeStore())
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    async with TestKafkaBroker(app.state.broker):
        await post(app, hotline_body())
    assert b"13912345678" not in captured.bodies[0]
    party = DisputeReported.model_validate_json(captured.bodies[0]).dispute.parties[0]
    assert party.phone_hash
    assert party.sealed_contact


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (hotline_body(category="gossip"), "category"),
        (hotline_body(description=""), "description"),
        (hotline_body(description="x" * 10_001), "description"),
        (hotline_body(people_involved="many"), "people_involved"),
        (hotline_body(parties=[{"name": "王五", "phone": "call me"}]), "parties.0.phone"),
        (hotline_body(occurred_at="2999-01-01T00:00:00+08:00"), "occurred_at"),
        (hotline_body(village_id="$where"), "village_id"),
        (hotline_body(unexpected=1), "unexpected"),
        ({k: v for k, v in hotline_body().items() if k != "category"}, "category"),
        (hotline_body(village_id=None), "body"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_published(
    capture: Any, body: Any, field: str
) -> None:
    app = create_app(IntakeSettings(), store=InMemoryIntakeStore())
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    async with TestKafkaBroker(app.state.broker):
        response = await post(app, body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    fields = [entry["field"] for entry in response.json()["fields"]]
    assert any(name == field or name.startswith(field) for name in fields), fields
    assert captured.bodies == []
