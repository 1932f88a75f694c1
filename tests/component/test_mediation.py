from typing import Any

import httpx
from faststream.kafka import TestKafkaBroker

from contracts import topics
from contracts.events import CaseAssigned
from contracts.vocabulary import HouseholdColor, RiskFlag
from mediation.app import create_app
from mediation.settings import MediationSettings
from tests.auth import as_needed
from tests.factories import JIANGHE, routed
from tests.fakes import InMemoryCaseStore, InMemoryMetricsStore


async def queue(app: Any, unit_id: str) -> list[dict[str, Any]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        auth=as_needed, transport=transport, base_url="http://mediation"
    ) as client:
        response = await client.get(f"/v1/units/{unit_id}/queue")
    assert response.status_code == 200
    result: list[dict[str, Any]] = response.json()
    return result


async def test_routed_case_enters_the_queue_and_is_announced(capture: Any) -> None:
    store = InMemoryCaseStore()
    app = create_app(MediationSettings(), store=store, metrics=InMemoryMetricsStore())
    assigned = capture(app.state.broker, topics.CASES_LIFECYCLE)
    decision = routed()
    async with TestKafkaBroker(app.state.broker) as broker:
        await broker.publish(decision.model_dump_json().encode(), topics.CASES_ROUTED)
    items = await queue(app, JIANGHE)
    assert [item["case_id"] for item in items] == [decision.case_id]
    event = CaseAssigned.model_validate_json(assigned.bodies[0])
    assert (event.case_id, event.unit_id) == (decision.case_id, JIANGHE)


async def test_redelivered_routing_makes_one_case_and_the_same_announcement(
    capture: Any,
) -> None:
    store = InMemoryCaseStore()
    app = create_app(MediationSettings(), store=store, metrics=InMemoryMetricsStore())
    assigned = capture(app.state.broker, topics.CASES_LIFECYCLE)
    body = routed().model_dump_json().encode()
    async with TestKafkaBroker(app.state.broker) as broker:
        await broker.publish(body, topics.CASES_ROUTED)
        await broker.publish(body, topics.CASES_ROUTED)
    assert len(store.cases) == 1
    ids = {CaseAssigned.model_validate_json(b).event_id for b in assigned.bodies}
    assert len(ids) == 1


async def test_queue_puts_urgent_then_high_priority_first() -> None:
    store = InMemoryCaseStore()
    app = create_app(MediationSettings(), store=store, metrics=InMemoryMetricsStore())
    normal = routed()
    red = routed(colors=(HouseholdColor.RED,))
    urgent = routed(risk_flags=(RiskFlag.SELF_HARM,))
    async with TestKafkaBroker(app.state.broker) as broker:
        for decision in (normal, red, urgent):
            await broker.publish(decision.model_dump_json().encode(), topics.CASES_ROUTED)
    order = [item["case_id"] for item in await queue(app, JIANGHE)]
    assert order == [urgent.case_id, red.case_id, normal.case_id]
