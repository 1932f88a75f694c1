"""A dispute reported again while its rebound chain is open joins the chain's open case."""

import json
from typing import Any

import httpx
from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts import topics
from contracts.events import CaseRouted
from tests.component.test_mediation_actions import MEDIATOR, Harness
from tests.factories import routed

__all__ = ["Harness"]


async def a_resolved_case(broker: KafkaBroker, http: httpx.AsyncClient) -> CaseRouted:
    first = routed()
    await broker.publish(first.model_dump_json().encode(), topics.CASES_ROUTED)
    base = f"/v1/cases/{first.case_id}"
    await http.post(f"{base}/accept", json={"mediator_id": MEDIATOR})
    resolved = {"mediator_id": MEDIATOR, "outcome": "resolved", "agreement": "oral"}
    await http.post(f"{base}/outcome", json={**resolved, "summary": "和解"})
    return first


async def test_a_second_rebound_joins_the_open_chain_instead_of_a_third_case(
    capture: Any,
) -> None:
    harness = Harness(capture)
    async with TestKafkaBroker(harness.app.state.broker) as broker, harness.client() as http:
        first = await a_resolved_case(broker, http)
        base = f"/v1/cases/{first.case_id}"

        rebound = routed().model_copy(update={"rebound_of": first.case_id})
        await broker.publish(rebound.model_dump_json().encode(), topics.CASES_ROUTED)
        second = routed().model_copy(update={"rebound_of": first.case_id})
        await broker.publish(second.model_dump_json().encode(), topics.CASES_ROUTED)
        await broker.publish(second.model_dump_json().encode(), topics.CASES_ROUTED)  # again

        assert (await http.get(base)).json()["state"] == "reopened"
        assert (await http.get(f"/v1/cases/{rebound.case_id}")).status_code == 200
        assert (await http.get(f"/v1/cases/{second.case_id}")).status_code == 404
        chain = (await http.get(f"/v1/cases/{rebound.case_id}")).json()

    joins = [entry for entry in chain["timeline"] if entry["event"] == "rebound_joined"]
    assert [entry["rebound_dispute_id"] for entry in joins] == [second.case_id]
    joined = [json.loads(body) for body in harness.lifecycle.bodies]
    joined = [event for event in joined if event["event_type"] == "ReportJoined"]
    assert [(e["case_id"], e["joined_to"]) for e in joined] == [(second.case_id, rebound.case_id)]
    open_cases = [c for c in harness.store.cases.values() if c["state"] != "resolved"]
    assert len(open_cases) == 2  # the resolved case reopened, and the first rebound


async def test_two_re_reports_in_one_batch_open_one_case_and_the_second_joins_it(
    capture: Any,
) -> None:
    harness = Harness(capture)
    async with TestKafkaBroker(harness.app.state.broker) as broker, harness.client() as http:
        first = await a_resolved_case(broker, http)
        base = f"/v1/cases/{first.case_id}"

        rebound = routed().model_copy(update={"rebound_of": first.case_id})
        second = routed().model_copy(update={"rebound_of": first.case_id})
        bodies = [r.model_dump_json().encode() for r in (rebound, second)]
        await broker.publish_batch(*bodies, topic=topics.CASES_ROUTED)

        assert (await http.get(base)).json()["state"] == "reopened"
        assert (await http.get(f"/v1/cases/{second.case_id}")).status_code == 404
        chain = (await http.get(f"/v1/cases/{rebound.case_id}")).json()
    joins = [entry for entry in chain["timeline"] if entry["event"] == "rebound_joined"]
    assert [entry["rebound_dispute_id"] for entry in joins] == [second.case_id]
    open_cases = [c for c in harness.store.cases.values() if c["state"] != "resolved"]
    assert len(open_cases) == 2  # the resolved case reopened, and the first re-report
