"""Mediator actions over HTTP with an in-memory store and faststream's test broker."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from faststream.kafka import TestKafkaBroker

from contracts import topics
from contracts.events import AlertRaised, CaseRouted
from contracts.vocabulary import RiskFlag, Tier
from mediation.app import create_app
from mediation.settings import MediationSettings
from tests.auth import as_needed
from tests.factories import JIANGHE, routed
from tests.fakes import InMemoryAuditTrail, InMemoryCaseStore, InMemoryMetricsStore

MEDIATOR = f"med-{JIANGHE}-1"
TOWN = "hanyin-shuangru"


class Harness:
    def __init__(self, capture: Any) -> None:
        self.store = InMemoryCaseStore()
        self.metrics = InMemoryMetricsStore()
        self.audit = InMemoryAuditTrail()
        self.app = create_app(
            MediationSettings(),
            store=self.store,
            metrics=self.metrics,
            sweep=False,
            audit=self.audit,
        )
        self.lifecycle = capture(self.app.state.broker, topics.CASES_LIFECYCLE)
        self.alerts = capture(self.app.state.broker, topics.ALERTS)

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(auth=as_needed, transport=transport, base_url="http://mediation")

    def types(self) -> list[str]:
        import json  # noqa: PLC0415

        return [json.loads(body)["event_type"] for body in self.lifecycle.bodies]


@pytest.fixture
def harness(capture: Any) -> Harness:
    return Harness(capture)


async def test_accept_session_resolve_visit(harness: Harness) -> None:
    decision = routed()
    async with TestKafkaBroker(harness.app.state.broker) as broker, harness.client() as http:
        await broker.publish(decision.model_dump_json().encode(), topics.CASES_ROUTED)
        base = f"/v1/cases/{decision.case_id}"
        assert (
            await http.post(f"{base}/accept", json={"mediator_id": MEDIATOR})
        ).status_code == 200
        session = {
            "mediator_id": MEDIATOR,
            "held_at": datetime.now(UTC).isoformat(),
            "participants": ["张三", "李四"],
            "notes": "现场调解",
        }
        assert (await http.post(f"{base}/sessions", json=session)).status_code == 200
        outcome = {
            "mediator_id": MEDIATOR,
            "outcome": "resolved",
            "agreement": "written",
            "summary": "疏通排水沟，各担一半",
        }
        response = await http.post(f"{base}/outcome", json=outcome)
        assert response.status_code == 200, response.text
        assert response.json()["allowed_actions"] == ["follow_up", "visit"]
        visit = {"mediator_id": MEDIATOR, "satisfaction": "satisfied"}
        assert (await http.post(f"{base}/visit", json=visit)).status_code == 200
        case = (await http.get(base)).json()
    assert case["state"] == "resolved"
    assert [e["event"] for e in case["timeline"]] == [
        "assigned",
        "accepted",
        "session_held",
        "resolved",
        "return_visit",
    ]
    assert harness.types() == [
        "CaseAssigned",
        "CaseAccepted",
        "MediationSessionHeld",
        "CaseResolved",
        "ReturnVisitRecorded",
    ]
    assert harness.store.cases[decision.case_id]["outbox"] == []
    county = harness.metrics.counters[f"hanyin|{_day()}|all|"]["c"]
    assert (county["resolved"], county["visits"], county["satisfied"]) == (1, 1, 1)


async def test_backlog_per_mediator_follows_the_unit_queue(harness: Harness) -> None:
    first, second = routed(), routed()
    async with TestKafkaBroker(harness.app.state.broker) as broker, harness.client() as http:
        for decision in (first, second):
            await broker.publish(decision.model_dump_json().encode(), topics.CASES_ROUTED)
        holder = first.mediator_id or ""
        both = await http.get("/v1/metrics/resolution", params={"unit": JIANGHE})
        withdrawal = {"mediator_id": MEDIATOR, "outcome": "withdrawn", "reason": "已和解"}
        closed = await http.post(f"/v1/cases/{first.case_id}/outcome", json=withdrawal)
        one = await http.get("/v1/metrics/resolution", params={"unit": JIANGHE})
    assert closed.status_code == 200, closed.text
    assert first.mediator_id == second.mediator_id == MEDIATOR
    assert both.json()["backlog_by_mediator"] == {holder: 2}
    assert one.json()["backlog_by_mediator"] == {holder: 1}


def _day() -> str:
    from mediation.metrics import day_of  # noqa: PLC0415

    return day_of(datetime.now(UTC))


async def test_refusals_write_nothing(harness: Harness) -> None:
    decision = routed()
    async with TestKafkaBroker(harness.app.state.broker) as broker, harness.client() as http:
        await broker.publish(decision.model_dump_json().encode(), topics.CASES_ROUTED)
        base = f"/v1/cases/{decision.case_id}"
        before = dict(harness.store.cases[decision.case_id])
        missing = await http.post("/v1/cases/nope/accept", json={"mediator_id": MEDIATOR})
        assert missing.status_code == 404
        assert (missing.json()["error"], missing.json()["params"]) == (
            "case_not_found",
            {"case_id": "nope"},
        )
        other = await http.post(f"{base}/accept", json={"mediator_id": f"med-{TOWN}-1"})
        assert other.status_code == 403
        assert other.json()["error"] == "act_outside_unit"
        assert other.json()["params"] == {"role": "mediator", "unit_id": TOWN, "target": JIANGHE}
        early = await http.post(
            f"{base}/outcome", json={"mediator_id": MEDIATOR, "outcome": "failed", "reason": "x"}
        )
        assert early.status_code == 409
        assert early.json()["state"] == "assigned"
        assert early.json()["allowed_actions"] == ["accept", "withdraw"]
        assert early.json()["error"] == "illegal_transition"
        assert early.json()["params"] == {
            "action": "fail",
            "state": "assigned",
            "allowed_actions": ["accept", "withdraw"],
            "why": None,
        }
        bad = await http.post(
            f"{base}/outcome", json={"mediator_id": MEDIATOR, "outcome": "resolved"}
        )
        assert bad.status_code == 422
        assert {f["field"] for f in bad.json()["fields"]} == {"agreement", "summary"}
        assert {f["code"] for f in bad.json()["fields"]} == {"missing"}
        tag = await http.post(f"{base}/outcome", json={"mediator_id": MEDIATOR, "outcome": "x"})
        assert [f["field"] for f in tag.json()["fields"]] == ["outcome"]
        assert [f["code"] for f in tag.json()["fields"]] == ["union_tag_invalid"]
        extra = await http.post(f"{base}/accept", json={"mediator_id": MEDIATOR, "x": 1})
        assert extra.status_code == 422
        assert harness.store.cases[decision.case_id] == before
    assert harness.types() == ["CaseAssigned"]


async def test_failure_escalates_and_the_reroute_keeps_one_timeline(harness: Harness) -> None:
    first = routed()
    async with TestKafkaBroker(harness.app.state.broker) as broker, harness.client() as http:
        await broker.publish(first.model_dump_json().encode(), topics.CASES_ROUTED)
        base = f"/v1/cases/{first.case_id}"
        await http.post(f"{base}/accept", json={"mediator_id": MEDIATOR})
        failed = await http.post(
            f"{base}/outcome", json={"mediator_id": MEDIATOR, "outcome": "failed", "reason": "僵持"}
        )
        assert failed.json()["state"] == "failed"
        second = town_routing(first)
        for _ in range(2):  # the repeat changes nothing
            await broker.publish(second.model_dump_json().encode(), topics.CASES_ROUTED)
        await broker.publish(first.model_dump_json().encode(), topics.CASES_ROUTED)  # stale
        case = (await http.get(base)).json()
        queue = (await http.get(f"/v1/units/{TOWN}/queue")).json()
    assert (case["state"], case["tier"], case["unit_id"], case["routing_seq"]) == (
        "assigned",
        "town",
        TOWN,
        2,
    )
    assert [e["event"] for e in case["timeline"]] == [
        "assigned",
        "accepted",
        "failed",
        "escalation_requested",
        "assigned",
    ]
    assert [item["case_id"] for item in queue] == [first.case_id]
    assert harness.types().count("CaseEscalationRequested") == 1


def town_routing(first: CaseRouted) -> CaseRouted:
    return first.model_copy(
        update={"routing_seq": 2, "tier": Tier.TOWN, "unit_id": TOWN, "mediator_id": None}
    )


async def test_urgent_case_alerts_and_a_rebound_reopens_the_resolved_case(
    harness: Harness,
) -> None:
    urgent = routed(risk_flags=(RiskFlag.VIOLENCE_THREAT,))
    async with TestKafkaBroker(harness.app.state.broker) as broker, harness.client() as http:
        await broker.publish(urgent.model_dump_json().encode(), topics.CASES_ROUTED)
        base = f"/v1/cases/{urgent.case_id}"
        await http.post(f"{base}/accept", json={"mediator_id": MEDIATOR})
        await http.post(
            f"{base}/outcome",
            json={
                "mediator_id": MEDIATOR,
                "outcome": "resolved",
                "agreement": "oral",
                "summary": "和解",
            },
        )
        again = routed().model_copy(update={"rebound_of": urgent.case_id})
        await broker.publish(again.model_dump_json().encode(), topics.CASES_ROUTED)
        case = (await http.get(base)).json()
    kinds = [AlertRaised.model_validate_json(body).kind.value for body in harness.alerts.bodies]
    assert kinds == ["urgent_risk", "rebound"]
    assert case["state"] == "reopened"
    assert case["allowed_actions"] == ["accept", "withdraw"]


async def test_sweeper_escalates_a_missed_deadline_once(harness: Harness) -> None:
    late = routed(occurred_at=datetime.now(UTC) - timedelta(days=2))
    from mediation.service import CaseService  # noqa: PLC0415

    async with TestKafkaBroker(harness.app.state.broker) as broker:
        await broker.publish(late.model_dump_json().encode(), topics.CASES_ROUTED)
        service: CaseService = harness.app.state.cases
        assert await service.sweep_deadlines() == 1
        assert await service.sweep_deadlines() == 0
    assert harness.types() == ["CaseAssigned", "CaseEscalationRequested"]
    assert [AlertRaised.model_validate_json(b).kind.value for b in harness.alerts.bodies] == [
        "deadline_breach"
    ]
