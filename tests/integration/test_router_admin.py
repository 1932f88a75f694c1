"""Admins change the routing policy and a unit's mediators over HTTP, on the real servers:
the next decision follows without a restart, a router started afterwards reads the change
back, mediation lets the new mediator act, and every change and decision is audited on the
audit topic and in MongoDB."""

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.audit import AuditRecorded
from contracts.events import CaseRouted
from router.policy import DEFAULT_POLICY_PATH
from services.auth import Role
from services.launcher import spawn, wait_healthy
from tests.auth import as_needed, headers, mediator_token
from tests.factories import hotline_body
from tests.integration.conftest import Stack, free_port
from tests.integration.kafka_tools import Record, end_offsets, read_until
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SHIPPED = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
LOWER_TOWN = SHIPPED.replace("amount_yuan_at_least: 50000", "amount_yuan_at_least: 20000")
DONGYUAN = "hanyin-puxi-dongyuan"
NEWCOMER = f"med-{DONGYUAN}-9"
YAML = {**headers(Role.ADMIN), "content-type": "application/yaml"}
SUPERVISOR = headers(Role.SUPERVISOR, "hanyin-shuangru", "sup-shuangru")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(auth=as_needed, timeout=20) as client:
        yield client


@pytest.fixture
async def shipped_policy_after(stack: Stack, client: httpx.AsyncClient) -> AsyncIterator[None]:
    """Whatever a test changes, the shipped policy is in force for the tests after it."""
    yield
    restored = await client.put(f"{stack.urls['router']}/v1/policy", content=SHIPPED, headers=YAML)
    assert restored.status_code == 200, restored.text


@pytest.fixture
async def dongyuan_roster(stack: Stack, client: httpx.AsyncClient) -> AsyncIterator[list[Any]]:
    """Dongyuan's mediators as shipped, put back after the test."""
    url = f"{stack.urls['router']}/v1/units/{DONGYUAN}"
    shipped = [
        {"id": m["id"], "name": m["name"]} for m in (await client.get(url)).json()["mediators"]
    ]
    yield shipped

    async def restored() -> httpx.Response | None:
        # A mediator still holding open cases is not removed: the router may not have read
        # the closing of the test's case off the lifecycle topic yet.
        answer = await client.put(f"{url}/mediators", json={"mediators": shipped})
        return None if answer.status_code == 409 else answer

    answer = await eventually(restored, what="the shipped roster back")
    assert answer.status_code == 200, answer.text


async def report(client: httpx.AsyncClient, stack: Stack, **overrides: Any) -> str:
    body = hotline_body(**overrides)
    for party in body["parties"]:
        party["phone"] = f"139{uuid.uuid4().int % 10**8:08d}"
    answer = await client.post(f"{stack.urls['intake']}/v1/disputes", json=body)
    assert answer.status_code == 202, answer.text
    dispute_id: str = answer.json()["dispute_id"]
    return dispute_id


async def routed(stack: Stack, start: Any, case_id: str) -> CaseRouted:
    def found(records: list[Record]) -> CaseRouted | None:
        for record in records:
            if record.key == case_id.encode():
                return CaseRouted.model_validate_json(record.value)
        return None

    records = await read_until(stack.infra.kafka, start, lambda seen: found(seen) is not None)
    decision = found(records)
    assert decision is not None
    return decision


async def audited(
    stack: Stack, start: Any, wanted: Callable[[AuditRecorded], bool]
) -> AuditRecorded:
    def found(records: list[Record]) -> AuditRecorded | None:
        for record in records:
            event = AuditRecorded.model_validate_json(record.value)
            if wanted(event):
                return event
        return None

    records = await read_until(stack.infra.kafka, start, lambda seen: found(seen) is not None)
    event = found(records)
    assert event is not None
    return event


@dataclass
class Replica:
    url: str
    process: subprocess.Popen[bytes]


@pytest.fixture
async def second_router(stack: Stack) -> AsyncIterator[Callable[[], Any]]:
    """Starts another router replica on demand (same consumer group, same policy file)."""
    started: list[Replica] = []

    async def start() -> Replica:
        assert stack.log_dir is not None
        port = free_port()
        env = {**stack.env, "ROUTER_PORT": str(port)}
        with (stack.log_dir / "router-2.log").open("ab") as log:
            process = spawn("router", env, log)
        replica = Replica(f"http://127.0.0.1:{port}", process)
        started.append(replica)
        await asyncio.to_thread(wait_healthy, replica.url, process)
        return replica

    yield start
    for replica in started:
        replica.process.terminate()
        replica.process.wait(timeout=20)


async def test_an_admins_policy_change_routes_the_next_dispute_and_is_shared_and_audited(
    stack: Stack,
    client: httpx.AsyncClient,
    mongo: AsyncMongoClient[dict[str, Any]],
    shipped_policy_after: None,
    second_router: Callable[[], Any],
) -> None:
    router = stack.urls["router"]
    routed_start = await end_offsets(stack.infra.kafka, topics.CASES_ROUTED)
    audit_start = await end_offsets(stack.infra.kafka, topics.AUDIT)
    before = await client.get(f"{router}/v1/policy", headers=SUPERVISOR)
    assert before.status_code == 200
    changed = await client.put(
        f"{router}/v1/policy",
        content=LOWER_TOWN,
        headers={**YAML, "if-match": before.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    version = changed.json()["version"]
    assert version != before.json()["version"]

    case_id = await report(client, stack, amount_yuan=30_000)
    decision = await routed(stack, routed_start, case_id)
    assert (decision.tier, decision.trace[0].rule) == ("town", "town_amount")
    assert decision.trace[0].policy_version == version

    change = await audited(
        stack,
        audit_start,
        lambda e: e.action == "policy.change" and e.details.get("version") == version,
    )
    assert (change.actor, change.role, change.outcome) == ("admin-1", "admin", "allowed")
    route = await audited(stack, audit_start, lambda e: e.case_id == case_id)
    assert (route.actor, route.role, route.action, route.unit_id) == (
        "router",
        "service",
        "case.route",
        "hanyin-shuangru",
    )
    assert route.details == {
        "tier": "town",
        "rule": "town_amount",
        "policy_version": version,
        "mediator_id": decision.mediator_id,
        "routing_seq": 1,
        "priority": decision.priority.value,
    }
    trail = mongo[stack.database]["audit"]
    await eventually(  # written beside its publication on the audit topic
        lambda: trail.find_one({"action": "case.route", "case_id": case_id}),
        what="the routing decision in the audit collection",
    )
    assert await trail.find_one({"action": "policy.change", "details.version": version}) is not None

    replica = await second_router()  # reads the change back before it serves or routes
    replicated = (await client.get(f"{replica.url}/v1/policy")).json()
    assert (replicated["version"], replicated["source"]) == (version, "api")
    compared = await asyncio.to_thread(what_if_against_shipped, stack)
    assert (compared["current_version"], compared["current_path"]) == (version, "config topic")


def what_if_against_shipped(stack: Stack) -> dict[str, Any]:
    """`what-if` compares a candidate with the policy in force: the published one."""
    done = subprocess.run(
        [sys.executable, "-m", "router", "what-if", "--policy", str(DEFAULT_POLICY_PATH), "--json"],
        env={**stack.env, "ROUTER_POLICY_PATH": str(DEFAULT_POLICY_PATH)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_refused_policy_changes_change_nothing_and_routing_goes_on(
    stack: Stack, client: httpx.AsyncClient, shipped_policy_after: None
) -> None:
    router = stack.urls["router"]
    in_force = await client.get(f"{router}/v1/policy")
    version = in_force.json()["version"]
    callers = [
        SUPERVISOR,
        headers(Role.MEDIATOR, DONGYUAN, f"med-{DONGYUAN}-1"),
    ]
    forbidden = [
        await client.put(f"{router}/v1/policy", content=LOWER_TOWN, headers=caller)
        for caller in callers
    ]
    assert [answer.status_code for answer in forbidden] == [403, 403]
    assert all("admin" in answer.json()["detail"] for answer in forbidden)
    bad = await client.put(
        f"{router}/v1/policy",
        content=SHIPPED.replace("amount_yuan_at_least: 50000", "amount_yuan_at_least: -1"),
        headers=YAML,
    )
    assert bad.status_code == 422
    assert "town.amount_yuan_at_least" in [field["field"] for field in bad.json()["fields"]]
    empty = await client.put(
        f"{router}/v1/policy",
        json={},
        headers={**headers(Role.ADMIN), "content-type": "application/json"},
    )
    assert empty.status_code == 422
    named = {field["field"] for field in empty.json()["fields"]}
    assert {"county", "town", "rebound", "deadlines", "assignment"} <= named
    half = await client.put(
        f"{router}/v1/policy", content=SHIPPED.split("deadlines:")[0], headers=YAML
    )
    assert half.status_code == 422
    assert {"deadlines", "assignment"} == {field["field"] for field in half.json()["fields"]}
    stale = await client.put(
        f"{router}/v1/policy",
        content=LOWER_TOWN,
        headers={**YAML, "if-match": '"sha256:0000000000000000"'},
    )
    assert stale.status_code == 412
    assert stale.headers["etag"] == f'"{version}"'

    routed_start = await end_offsets(stack.infra.kafka, topics.CASES_ROUTED)
    case_id = await report(client, stack, amount_yuan=30_000)
    decision = await routed(stack, routed_start, case_id)
    assert (decision.tier, decision.trace[0].policy_version) == ("village", version)
    assert (await client.get(f"{router}/v1/policy")).json()["version"] == version


async def test_a_new_mediator_is_assigned_at_once_and_may_act_in_mediation(
    stack: Stack,
    client: httpx.AsyncClient,
    mongo: AsyncMongoClient[dict[str, Any]],
    dongyuan_roster: list[Any],
) -> None:
    router = stack.urls["router"]
    parties = [{"name": "赵六", "phone": "0", "village_id": DONGYUAN}]
    # One case per shipped mediator first: each case goes to the least loaded, so afterwards
    # every one of them holds a case, whatever other tests left open in the village, and the
    # newcomer (none) is the least loaded. Nobody holding open cases is removed.
    routed_start = await end_offsets(stack.infra.kafka, topics.CASES_ROUTED)
    for _ in dongyuan_roster:
        filler = await report(client, stack, village_id=DONGYUAN, parties=parties)
        await routed(stack, routed_start, filler)  # counted in the router's loads once routed
    audit_start = await end_offsets(stack.infra.kafka, topics.AUDIT)
    roster = [*dongyuan_roster, {"id": NEWCOMER, "name": "王新来"}]
    changed = await client.put(
        f"{router}/v1/units/{DONGYUAN}/mediators", json={"mediators": roster}
    )
    assert changed.status_code == 200, changed.text
    assert [m["id"] for m in changed.json()["mediators"]] == [m["id"] for m in roster]
    case_id = await report(client, stack, village_id=DONGYUAN, parties=parties)
    decision = await routed(stack, routed_start, case_id)
    assert (decision.unit_id, decision.mediator_id) == (DONGYUAN, NEWCOMER)

    async def accepted() -> httpx.Response | None:
        answer = await client.post(
            f"{stack.urls['mediation']}/v1/cases/{case_id}/accept",
            json={"mediator_id": NEWCOMER},
            headers={"Authorization": f"Bearer {mediator_token(NEWCOMER)}"},
        )
        return answer if answer.status_code != 404 else None  # not stored yet

    answer = await eventually(accepted, what="the case stored by mediation")
    assert answer.status_code == 200, answer.text
    # Closed again, so the roster can be put back (nobody is removed holding open cases).
    withdrawn = await client.post(
        f"{stack.urls['mediation']}/v1/cases/{case_id}/outcome",
        json={"mediator_id": NEWCOMER, "outcome": "withdrawn", "reason": "测试结束"},
        headers={"Authorization": f"Bearer {mediator_token(NEWCOMER)}"},
    )
    assert withdrawn.status_code == 200, withdrawn.text

    change = await audited(stack, audit_start, lambda e: e.action == "unit.mediators.change")
    assert (change.actor, change.unit_id, change.outcome) == ("admin-1", DONGYUAN, "allowed")
    assert change.details["before"] == [m["id"] for m in dongyuan_roster]
    assert change.details["after"] == [m["id"] for m in roster]
    stored = await mongo[stack.database]["audit"].find_one(
        {"action": "unit.mediators.change", "details.change_id": change.details["change_id"]}
    )
    assert stored is not None
