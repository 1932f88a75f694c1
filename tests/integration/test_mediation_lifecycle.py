"""A case's life on the real servers: accept → resolve; failure → next tier with one timeline;
a redelivered routing makes one case and leaves the metrics unchanged."""

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.events import CaseEscalationRequested, CaseResolved
from contracts.vocabulary import Tier
from mediation.metrics import day_of
from tests.auth import as_needed
from tests.factories import JIANGHE
from tests.integration.conftest import Stack
from tests.integration.kafka_tools import end_offsets, read_until
from tests.integration.mediation_helpers import (
    get_case,
    mediator_of,
    publish_routed,
    rerouted,
    routed_case,
)
from tests.waiting import eventually

pytestmark = pytest.mark.integration
TOWN = "hanyin-shuangru"


async def test_accept_hold_a_session_and_resolve(
    stack: Stack, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    decision = routed_case(JIANGHE)
    start = await end_offsets(stack.infra.kafka, topics.CASES_LIFECYCLE)
    url, mediator = stack.urls["mediation"], mediator_of(JIANGHE)
    await publish_routed(stack.infra.kafka, [decision])
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as http:
        await eventually(lambda: get_case(http, url, decision.case_id), what="the stored case")
        base = f"{url}/v1/cases/{decision.case_id}"
        accepted = await http.post(f"{base}/accept", json={"mediator_id": mediator})
        assert accepted.status_code == 200, accepted.text
        session = {
            "mediator_id": mediator,
            "held_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
            "participants": ["张三", "李四", "网格员"],
        }
        assert (await http.post(f"{base}/sessions", json=session)).status_code == 200
        outcome = {
            "mediator_id": mediator,
            "outcome": "resolved",
            "agreement": "written",
            "summary": "疏通排水沟，费用各担一半",
        }
        resolved = await http.post(f"{base}/outcome", json=outcome)
        assert resolved.status_code == 200, resolved.text
        again = await http.post(f"{base}/accept", json={"mediator_id": mediator})
        assert again.status_code == 409
        assert again.json()["allowed_actions"] == ["follow_up", "visit"]
        case = await get_case(http, url, decision.case_id)
    assert case is not None
    assert case["state"] == "resolved"
    assert [e["event"] for e in case["timeline"]] == [
        "assigned",
        "accepted",
        "session_held",
        "resolved",
    ]
    key = decision.correlation_id.encode()
    records = await read_until(
        stack.infra.kafka,
        start,
        lambda seen: any(r.key == key and b"CaseResolved" in r.value for r in seen),
    )
    # At-least-once: a redelivered routing is announced again under the same event id.
    distinct = {json.loads(r.value)["event_id"]: r.value for r in records if r.key == key}
    types = [_type(value) for value in distinct.values()]
    assert types == ["CaseAssigned", "CaseAccepted", "MediationSessionHeld", "CaseResolved"]
    event = CaseResolved.model_validate_json(
        next(r.value for r in records if r.key == key and b"CaseResolved" in r.value)
    )
    assert event.match_keys == decision.dispute.match_keys()
    stored = await mongo[stack.database]["cases"].find_one({"_id": decision.case_id})
    assert stored is not None
    assert stored["outbox"] == []  # relayed, then cleared


def _type(value: bytes) -> str:
    return str(json.loads(value)["event_type"])


async def test_failure_at_the_village_reaches_the_town_queue_with_one_timeline(
    stack: Stack,
) -> None:
    first = routed_case(JIANGHE)
    start = await end_offsets(stack.infra.kafka, topics.CASES_LIFECYCLE)
    url = stack.urls["mediation"]
    await publish_routed(stack.infra.kafka, [first])
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as http:
        await eventually(lambda: get_case(http, url, first.case_id), what="the stored case")
        base = f"{url}/v1/cases/{first.case_id}"
        await http.post(f"{base}/accept", json={"mediator_id": mediator_of(JIANGHE)})
        failed = await http.post(
            f"{base}/outcome",
            json={"mediator_id": mediator_of(JIANGHE), "outcome": "failed", "reason": "互不相让"},
        )
        assert failed.status_code == 200, failed.text
        key = first.correlation_id.encode()
        records = await read_until(
            stack.infra.kafka,
            start,
            lambda seen: any(r.key == key and b"CaseEscalationRequested" in r.value for r in seen),
        )
        escalation = CaseEscalationRequested.model_validate_json(
            next(r.value for r in records if r.key == key and b"Escalation" in r.value)
        )
        assert (escalation.reason.value, escalation.routing_seq) == ("failed", 1)
        assert escalation.dispute == first.dispute
        # The router's part: one tier up, same case, routing_seq 2.
        second = rerouted(first, Tier.TOWN)
        await publish_routed(stack.infra.kafka, [second, first])  # the stale one changes nothing

        async def in_town_queue() -> dict[str, Any] | None:
            response = await http.get(f"{url}/v1/units/{TOWN}/queue")
            return next((i for i in response.json() if i["case_id"] == first.case_id), None)

        item = await eventually(in_town_queue, what="the case in the town queue")
        case = await get_case(http, url, first.case_id)
        village_queue = (await http.get(f"{url}/v1/units/{JIANGHE}/queue")).json()
    assert (item["tier"], item["state"], item["routing_seq"]) == ("town", "assigned", 2)
    assert case is not None
    assert [(e["event"], e["unit_id"]) for e in case["timeline"]] == [
        ("assigned", JIANGHE),
        ("accepted", JIANGHE),
        ("failed", JIANGHE),
        ("escalation_requested", JIANGHE),
        ("assigned", TOWN),
    ]
    assert [step["tier"] for step in case["trace"]] == ["village", "town"]
    assert first.case_id not in {i["case_id"] for i in village_queue}


async def metrics_of(
    http: httpx.AsyncClient, url: str, unit: str, day: str | None = None
) -> dict[str, Any]:
    params = {"unit": unit} | ({"from": day, "to": day} if day else {})
    response = await http.get(f"{url}/v1/metrics/resolution", params=params)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def test_same_routing_twice_makes_one_case_and_counts_once(
    stack: Stack, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    village, other = "hanyin-tiefosi-baibao", "hanyin-tiefosi-gaoyuan"
    # A day of its own, decades back: other tests file reports into these villages today.
    decided_at = datetime.now(UTC) - timedelta(days=random.randint(7300, 36500))
    day = day_of(decided_at)
    first = routed_case(village, decided_at=decided_at)
    # Same key as `first`, so it is handled after the repeat on both topics.
    sentinel = routed_case(other, decided_at=decided_at).model_copy(
        update={"correlation_id": first.correlation_id}
    )
    url = stack.urls["mediation"]
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as http:
        await publish_routed(stack.infra.kafka, [first])

        async def counted(unit: str) -> dict[str, Any] | None:
            # The assignment and the backlog change are counted together, in one update.
            total: dict[str, Any] = (await metrics_of(http, url, unit, day))["total"]
            return total if total["counts"].get("assigned") else None

        before = await eventually(lambda: counted(village), what="the first assignment counted")
        await publish_routed(stack.infra.kafka, [first, sentinel])
        await eventually(lambda: counted(other), what="the sentinel counted")
        after = (await metrics_of(http, url, village, day))["total"]
    assert await mongo[stack.database]["cases"].count_documents({"_id": first.case_id}) == 1
    assert before == after
    assert after["counts"]["assigned"] == 1
    assert after["counts"]["backlog_change"] == 1


async def test_two_re_reports_of_a_resolved_case_open_one_case_the_other_joins(
    stack: Stack,
) -> None:
    resolved = routed_case(JIANGHE)
    url, mediator = stack.urls["mediation"], mediator_of(JIANGHE)
    await publish_routed(stack.infra.kafka, [resolved])
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as http:
        await eventually(lambda: get_case(http, url, resolved.case_id), what="the stored case")
        base = f"{url}/v1/cases/{resolved.case_id}"
        assert (await http.post(f"{base}/accept", json={"mediator_id": mediator})).is_success
        outcome = {"mediator_id": mediator, "outcome": "resolved", "agreement": "oral"}
        done = await http.post(f"{base}/outcome", json={**outcome, "summary": "和解"})
        assert done.status_code == 200, done.text

        # Reported again twice at once: both on the topic before mediation reads either.
        again = [routed_case(JIANGHE, rebound_of=resolved.case_id) for _ in range(2)]
        await publish_routed(stack.infra.kafka, again)

        async def settled() -> list[dict[str, Any] | None] | None:
            found = [await get_case(http, url, r.case_id) for r in again]
            joined = [c for c in found if c is not None and _joined(c)]
            return found if joined else None

        cases = await eventually(settled, what="one re-report joined to the other's case")
        reopened = await get_case(http, url, resolved.case_id)
    stored = [case for case in cases if case is not None]
    assert len(stored) == 1, "one case for both re-reports, not two"
    assert _joined(stored[0]) == [r.case_id for r in again if r.case_id != stored[0]["case_id"]]
    assert reopened is not None
    assert reopened["state"] == "reopened"


def _joined(case: dict[str, Any]) -> list[str]:
    timeline = case["timeline"]
    return [e["rebound_dispute_id"] for e in timeline if e["event"] == "rebound_joined"]
