"""The router on the real servers: cross-town cases reach the county queue, a failed village
case moves to its town, a policy change takes effect without a restart, and the what-if
command reports what a candidate policy would change."""

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import topics
from contracts.events import AlertRaised, CaseEscalationRequested, CaseRouted
from contracts.vocabulary import AlertKind, EscalationReason
from router.policy import DEFAULT_POLICY_PATH
from tests.auth import as_needed
from tests.factories import JIANGHE, hotline_body
from tests.integration.conftest import Stack
from tests.integration.kafka_tools import Record, end_offsets, produce, read_until
from tests.waiting import eventually

pytestmark = pytest.mark.integration

DONGYUAN = "hanyin-puxi-dongyuan"  # a village of another town than Jianghe's
SHIPPED = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        yield client


def unique_phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


async def report(client: httpx.AsyncClient, stack: Stack, **overrides: Any) -> str:
    body = hotline_body(**overrides)
    for party in body["parties"]:
        party["phone"] = unique_phone()
    response = await client.post(f"{stack.urls['intake']}/v1/disputes", json=body)
    assert response.status_code == 202, response.text
    dispute_id: str = response.json()["dispute_id"]
    return dispute_id


def routed_of(records: list[Record], case_id: str, seq: int = 1) -> CaseRouted | None:
    for record in records:
        if record.key == case_id.encode():
            routed = CaseRouted.model_validate_json(record.value)
            if routed.routing_seq == seq:
                return routed
    return None


async def wait_routed(stack: Stack, start: Any, case_id: str, seq: int = 1) -> CaseRouted:
    records = await read_until(
        stack.infra.kafka, start, lambda seen: routed_of(seen, case_id, seq) is not None
    )
    routed = routed_of(records, case_id, seq)
    assert routed is not None
    return routed


async def test_cross_town_dispute_lands_in_the_county_queue(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    parties = [
        {"name": "李四", "phone": "0", "village_id": JIANGHE, "household_color": "green"},
        {"name": "王五", "phone": "0", "village_id": DONGYUAN},
    ]
    case_id = await report(client, stack, parties=parties, category="contract_debt")
    mediation = stack.urls["mediation"]

    async def stored() -> dict[str, Any] | None:
        response = await client.get(f"{mediation}/v1/cases/{case_id}")
        return response.json() if response.status_code == 200 else None

    case = await eventually(stored, what="the cross-town case stored by mediation")
    assert (case["tier"], case["unit_id"]) == ("county", "hanyin")
    assert case["trace"][0]["rule"] == "cross_town"
    assert case["trace"][0]["inputs"]["towns"] == ["hanyin-puxi", "hanyin-shuangru"]
    assert case["mediator_id"].startswith("med-hanyin-")
    queue = await client.get(
        f"{mediation}/v1/units/hanyin/queue",
        params={"mediator_id": case["mediator_id"], "limit": 500},
    )
    assert case_id in [item["case_id"] for item in queue.json()]


async def test_failed_village_case_is_re_routed_to_its_town(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    routed_start = await end_offsets(stack.infra.kafka, topics.CASES_ROUTED)
    alerts_start = await end_offsets(stack.infra.kafka, topics.ALERTS)
    case_id = await report(client, stack)
    first = await wait_routed(stack, routed_start, case_id)
    assert (first.tier, first.unit_id) == ("village", JIANGHE)
    request = CaseEscalationRequested(
        occurred_at=datetime.now(UTC),
        correlation_id=case_id,
        case_id=case_id,
        tier=first.tier,
        unit_id=first.unit_id,
        mediator_id=first.mediator_id,
        reason=EscalationReason.FAILED,
        routing_seq=1,
        dispute=first.dispute,
        trace=first.trace,
    )
    await produce(
        stack.infra.kafka,
        topics.CASES_LIFECYCLE,
        request.model_dump_json().encode(),
        key=case_id.encode(),
    )
    second = await wait_routed(stack, routed_start, case_id, seq=2)
    assert (second.tier, second.unit_id) == ("town", "hanyin-shuangru")
    assert second.trace[0] == first.trace[0]
    assert second.trace[1].rule == "escalated_from_village"
    assert second.mediator_id is not None
    assert second.mediator_id.startswith("med-hanyin-shuangru-")

    def escalation_alert(records: list[Record]) -> AlertRaised | None:
        for record in records:
            alert = AlertRaised.model_validate_json(record.value)
            if alert.case_id == case_id and alert.kind is AlertKind.ESCALATION:
                return alert
        return None

    records = await read_until(
        stack.infra.kafka, alerts_start, lambda seen: escalation_alert(seen) is not None
    )
    alert = escalation_alert(records)
    assert alert is not None
    assert (alert.unit_id, alert.tier) == (JIANGHE, "town")


async def policy_version(client: httpx.AsyncClient, stack: Stack) -> dict[str, Any]:
    response = await client.get(f"{stack.urls['router']}/v1/policy")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def test_policy_change_takes_effect_without_restart_and_is_recorded(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    assert stack.router_policy is not None
    before = await policy_version(client, stack)
    start = await end_offsets(stack.infra.kafka, topics.CASES_ROUTED)
    earlier = await report(client, stack, amount_yuan=30_000)
    assert (await wait_routed(stack, start, earlier)).tier == "village"
    lowered = SHIPPED.replace("amount_yuan_at_least: 50000", "amount_yuan_at_least: 20000")
    try:
        stack.router_policy.write_text(lowered, encoding="utf-8")

        async def changed() -> dict[str, Any] | None:
            now = await policy_version(client, stack)
            return now if now["version"] != before["version"] else None

        after = await eventually(changed, what="the new policy version in force")
        assert after["policy"]["town"]["amount_yuan_at_least"] == 20_000
        later = await report(client, stack, amount_yuan=30_000)
        routed = await wait_routed(stack, start, later)
        assert (routed.tier, routed.trace[0].rule) == ("town", "town_amount")
        assert routed.trace[0].policy_version == after["version"]

        stack.router_policy.write_text("town:\n  amount_yuan_at_least: -1\n", encoding="utf-8")

        async def refused() -> dict[str, Any] | None:
            now = await policy_version(client, stack)
            return now if now["rejected"] else None

        rejected = await eventually(refused, what="the bad policy file refused")
        assert rejected["version"] == after["version"]
        assert "town.amount_yuan_at_least" in rejected["rejected"]
    finally:
        stack.router_policy.write_text(SHIPPED, encoding="utf-8")

        async def restored() -> bool:
            version = (await policy_version(client, stack))["version"]
            return bool(version == before["version"])

        await eventually(restored, what="the shipped policy back in force")


def run_what_if(stack: Stack, candidate: Path) -> dict[str, Any]:
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=stack.infra.kafka)
    env["ROUTER_POLICY_PATH"] = str(DEFAULT_POLICY_PATH)
    done = subprocess.run(
        [sys.executable, "-m", "router", "what-if", "--policy", str(candidate), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_what_if_reports_the_disputes_a_candidate_would_move(
    stack: Stack, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    moved = [
        await report(client, stack, amount_yuan=30_000),
        await report(client, stack, amount_yuan=25_000, category="family"),
    ]
    kept = [
        await report(client, stack, amount_yuan=10_000),
        await report(client, stack, amount_yuan=80_000),  # town under both policies
    ]
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(
        SHIPPED.replace("amount_yuan_at_least: 50000", "amount_yuan_at_least: 20000"),
        encoding="utf-8",
    )
    result = await asyncio.to_thread(run_what_if, stack, candidate)
    changes = {change["dispute_id"]: change for change in result["changes"]}
    for dispute_id in moved:
        change = changes[dispute_id]
        assert change["before"] == {
            "tier": "village",
            "unit_id": JIANGHE,
            "rule": "village_default",
        }
        assert change["after"] == {
            "tier": "town",
            "unit_id": "hanyin-shuangru",
            "rule": "town_amount",
        }
    assert not set(kept) & set(changes)
    assert result["disputes"] >= 4
    assert result["changed_tier"] >= 2
    rows = {(row["town"], row["category"]): row for row in result["table"]}
    assert rows[("hanyin-shuangru", "neighbour")]["changed"] >= 1
    assert rows[("hanyin-shuangru", "family")]["changed"] >= 1
    assert result["candidate_version"] != result["current_version"]
