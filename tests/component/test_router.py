from typing import Any

import httpx
from faststream.kafka import TestKafkaBroker

from contracts import topics
from contracts.events import CaseRouted
from contracts.vocabulary import Tier
from router.app import create_app
from router.settings import RouterSettings
from tests.auth import as_needed
from tests.factories import JIANGHE, reported
from tests.fakes import InMemoryAuditTrail


async def test_reported_dispute_is_routed_to_its_village(capture: Any) -> None:
    app = create_app(RouterSettings(), audit=InMemoryAuditTrail(), share_changes=False)
    routed = capture(app.state.broker, topics.CASES_ROUTED)
    event = reported()
    async with TestKafkaBroker(app.state.broker) as broker:
        await broker.publish(event.model_dump_json().encode(), topics.DISPUTES_REPORTED)
    assert len(routed.bodies) == 1
    decision = CaseRouted.model_validate_json(routed.bodies[0])
    assert decision.case_id == event.dispute.dispute_id
    assert (decision.tier, decision.unit_id) == (Tier.VILLAGE, JIANGHE)


async def test_invalid_event_is_dead_lettered_with_its_origin_and_the_next_still_flows(
    capture: Any,
) -> None:
    app = create_app(RouterSettings(), audit=InMemoryAuditTrail(), share_changes=False)
    dead = capture(app.state.broker, topics.DEAD_LETTER)
    routed = capture(app.state.broker, topics.CASES_ROUTED)
    async with TestKafkaBroker(app.state.broker) as broker:
        await broker.publish(b'{"event_type": "DisputeReported"}', topics.DISPUTES_REPORTED)
        await broker.publish(reported().model_dump_json().encode(), topics.DISPUTES_REPORTED)
    assert len(dead.messages) == 1
    headers = dead.messages[0].headers
    assert headers["x-dlq-original-topic"] == topics.DISPUTES_REPORTED
    assert headers["x-dlq-attempts"] == "1"
    assert "dispute: Field required" in headers["x-dlq-error"]
    assert {"x-dlq-original-partition", "x-dlq-original-offset"} <= set(headers)
    assert len(routed.bodies) == 1


async def test_event_catalogue_names_the_topics_and_schemas() -> None:
    app = create_app(RouterSettings(), audit=InMemoryAuditTrail(), share_changes=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        auth=as_needed, transport=transport, base_url="http://router"
    ) as client:
        response = await client.get("/asyncapi.json")
    assert response.status_code == 200
    text = response.text
    assert topics.DISPUTES_REPORTED in text
    assert topics.CASES_ROUTED in text
    assert "RoutingStep" in text
