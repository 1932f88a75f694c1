"""A fault-injection run: N uniquely numbered disputes go in over HTTP while services are
killed -9, the broker and the database restart and a poison event is sent; the verdict is then
read from durable state only (the topics read back, and MongoDB), never from the counters of
processes that were killed.

The run's disputes happen in one town no other test suite uses, so the town's metrics and
alerts are the run's own even on a broker shared with other runs.
"""

import asyncio
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import TopicPartition
from pydantic import ValidationError
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.events import AlertRaised, DisputeReported
from contracts.registry import hanyin
from mediation.metrics import ALL, BACKLOG
from services.broker import ensure_topics
from services.launcher import SERVICES
from tests.auth import as_needed
from tests.chaos.servers import (
    Services,
    devstack_of,
    ensure_servers_up,
    restart_broker,
    restart_database,
)
from tests.factories import hotline_body
from tests.integration.kafka_tools import end_offsets, produce, read_between
from tests.integration.notifier_support import SECRET, Receiver, webhook_receiver

TOWN = "hanyin-shuanghekou"
CLOSED = {"resolved", "failed", "referred", "withdrawn"}
Document = dict[str, Any]


@dataclass(frozen=True)
class Plan:
    reports: int
    rate: float
    """Reports per second the generator starts (retries come on top)."""
    kills: int
    broker_restarts: int
    database_restarts: int
    seed: int = 0
    settle_s: float = 240
    """How long the system may take to catch up once the generator is done."""

    @property
    def duration_s(self) -> float:
        return self.reports / self.rate


@dataclass
class Run:
    plan: Plan
    services: Services
    marker: str = ""
    accepted: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    given_up: set[int] = field(default_factory=set)
    faults: list[str] = field(default_factory=list)
    poison_key: bytes = b""
    retries: int = 0


@dataclass
class Verdict:
    notes: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        (self.lines if ok else self.failures).append(what)

    def report(self) -> str:
        notes = "\n".join(f"        {line}" for line in self.notes)
        passed = "\n".join(f"  ok    {line}" for line in self.lines)
        failed = "\n".join(f"  FAIL  {line}" for line in self.failures)
        return "\n".join(part for part in (notes, passed, failed) if part)


def villages() -> list[str]:
    return sorted(unit.id for unit in hanyin().children_of(TOWN))


def body_of(run: Run, number: int, places: list[str]) -> dict[str, Any]:
    village = places[number % len(places)]
    urgent = number % 25 == 0
    return hotline_body(
        village_id=village,
        description=f"{run.marker} #{number}: 两户因排水沟堵塞发生争吵，请求村里调解",
        parties=[
            {
                "name": "李四",
                "phone": f"139{number:08d}",
                "village_id": village,
                "household_color": "green",
            }
        ],
        risk_flags=["violence_threat"] if urgent else [],
    )


async def submit(client: httpx.AsyncClient, run: Run, number: int, places: list[str]) -> None:
    """One report until it gets its 202, retried under the same key (as a caller should)."""
    url = f"{run.services.urls['intake']}/v1/disputes"
    headers = {"Idempotency-Key": f"{run.marker}-{number}"}
    deadline = time.monotonic() + run.plan.settle_s
    while time.monotonic() < deadline:
        try:
            response = await client.post(url, json=body_of(run, number, places), headers=headers)
        except httpx.HTTPError:
            response = None
        if response is not None and response.status_code == 202:
            run.accepted[number].add(response.json()["dispute_id"])
            return
        if response is not None and response.status_code not in (503, 500):
            raise AssertionError(f"report {number}: {response.status_code} {response.text}")
        run.retries += 1
        await asyncio.sleep(0.5)
    run.given_up.add(number)


async def generate(run: Run) -> None:
    """Starts reports on a fixed schedule; each one runs on until it is accepted."""
    places = villages()
    start = time.monotonic()
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(auth=as_needed, timeout=10, limits=limits) as client:
        pending: set[asyncio.Task[None]] = set()
        for number in range(run.plan.reports):
            due = start + number / run.plan.rate
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            while len(pending) >= 64:  # back off rather than pile up while a server restarts
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            task = asyncio.create_task(submit(client, run, number, places))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.gather(*pending)


def fault_schedule(plan: Plan, rng: random.Random) -> list[tuple[float, str]]:
    """(seconds after the start, fault), at random moments inside the generator's run."""
    span = plan.duration_s
    faults = [f"kill:{rng.choice(list(SERVICES))}" for _ in range(plan.kills)]
    faults += ["broker"] * plan.broker_restarts + ["database"] * plan.database_restarts
    faults.append("poison")
    return sorted((rng.uniform(0.05, 0.85) * span, fault) for fault in faults)


async def inject(run: Run, rng: random.Random) -> None:
    services = run.services
    devstack = None
    if run.plan.broker_restarts or run.plan.database_restarts:
        devstack = devstack_of(services.kafka, services.mongodb_uri)
    start = time.monotonic()
    for at, fault in fault_schedule(run.plan, rng):
        if (wait := start + at - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        began = time.monotonic()
        if fault.startswith("kill:"):
            await services.kill_and_restart(fault.removeprefix("kill:"))
        elif fault == "broker" and devstack is not None:
            await asyncio.to_thread(restart_broker, devstack)
        elif fault == "database" and devstack is not None:
            await asyncio.to_thread(restart_database, devstack)
        elif fault == "poison":
            run.poison_key = f"poison-{run.marker}".encode()
            await produce(
                services.kafka, topics.DISPUTES_REPORTED, b'{"event_type": "Dispute', run.poison_key
            )
        took = time.monotonic() - began
        run.faults.append(f"{time.monotonic() - start:6.1f} s  {fault} ({took:.1f} s)")


async def chaos(plan: Plan, kafka: str, mongodb_uri: str) -> Verdict:
    services = Services(kafka, mongodb_uri)
    run = Run(plan, services, marker=f"chaos-{services.run_id}")
    rng = random.Random(plan.seed or None)
    devstack = None
    if plan.broker_restarts or plan.database_restarts:
        devstack = devstack_of(kafka, mongodb_uri)
    await ensure_topics(kafka)
    starts = {
        topic: await end_offsets(kafka, topic)
        for topic in (topics.DISPUTES_REPORTED, topics.ALERTS, topics.DEAD_LETTER)
    }
    try:
        with webhook_receiver() as receiver:
            await services.start_all()
            subscription = await _subscribe(services, receiver)
            began = time.monotonic()
            await asyncio.gather(generate(run), inject(run, rng))
            generated_s = time.monotonic() - began
            verdict = await judge(run, receiver, subscription, starts)
            verdict.notes.append(
                f"{plan.reports} reports in {generated_s:.0f} s ({run.retries} retries); "
                f"faults: {len(run.faults)}"
            )
            verdict.notes += [f"fault at {line}" for line in run.faults]
            if not verdict.failures:  # a failed run's database is kept to be looked into
                await services.drop_database()
            return verdict
    finally:
        services.stop_all()
        if devstack is not None:
            await asyncio.to_thread(ensure_servers_up, devstack)
        print(f"chaos: service logs in {services.log_dir}")


async def _subscribe(services: Services, receiver: Receiver) -> str:
    body = {
        "unit_id": TOWN,
        "kinds": ["urgent_risk"],
        "delivery": {"type": "webhook", "url": receiver.url("chaos"), "secret": SECRET},
    }
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        response = await client.post(f"{services.urls['notifier']}/v1/subscriptions", json=body)
    response.raise_for_status()
    subscription_id: str = response.json()["subscription_id"]
    return subscription_id


# ---- the verdict, from durable state -----------------------------------------------------------


async def judge(
    run: Run, receiver: Receiver, subscription: str, starts: dict[str, dict[TopicPartition, int]]
) -> Verdict:
    verdict = Verdict()
    client: AsyncMongoClient[Document] = AsyncMongoClient(run.services.mongodb_uri, tz_aware=True)
    try:
        database = client[run.services.database]
        ids = {number: next(iter(found)) for number, found in run.accepted.items()}
        verdict.check(
            all(len(found) == 1 for found in run.accepted.values()),
            "every retry of a report was answered with the same dispute id",
        )
        verdict.check(not run.given_up, f"no report given up on ({len(run.given_up)} were)")
        cases = await _settled(run, database, ids)
        _judge_cases(run, verdict, ids, cases)
        await _judge_topic(run, verdict, ids, starts)
        await _judge_metrics(run, verdict, database)
        await _judge_alerts(run, verdict, receiver, subscription, ids=ids, starts=starts)
        await _judge_poison(run, verdict, starts)
    finally:
        await client.close()
    return verdict


def number_of(run: Run, description: str) -> int | None:
    found = re.match(rf"{re.escape(run.marker)} #(\d+):", description)
    return int(found.group(1)) if found else None


async def _cases(run: Run, database: Any) -> dict[int, list[Document]]:
    projection = {"dispute.description": 1, "unit_id": 1, "state": 1, "routing_seq": 1}
    found: dict[int, list[Document]] = defaultdict(list)
    async for case in database.cases.find({}, projection=projection):
        number = number_of(run, case["dispute"]["description"])
        if number is not None:
            found[number].append(case)
    return found


async def _settled(run: Run, database: Any, ids: dict[int, str]) -> dict[int, list[Document]]:
    """The cases once every accepted report has one, or the settle time is up."""
    deadline = time.monotonic() + run.plan.settle_s
    while True:
        cases = await _cases(run, database)
        if all(number in cases for number in ids) or time.monotonic() > deadline:
            return cases
        await asyncio.sleep(1)


def _judge_cases(
    run: Run, verdict: Verdict, ids: dict[int, str], cases: dict[int, list[Document]]
) -> None:
    lost = [n for n in ids if n not in cases]
    doubled = [n for n, found in cases.items() if len(found) > 1]
    wrong = [n for n in ids if n in cases and cases[n][0]["_id"] != ids[n]]
    verdict.check(not lost, f"0 lost: {len(ids)} reports got a 202, {len(lost)} have no case")
    verdict.check(not doubled, f"0 duplicated: {len(doubled)} reports have more than one case")
    verdict.check(not wrong, f"each case has its report's dispute id ({len(wrong)} differ)")


async def _judge_topic(
    run: Run, verdict: Verdict, ids: dict[int, str], starts: dict[str, dict[TopicPartition, int]]
) -> None:
    kafka = run.services.kafka
    records = await read_between(
        kafka,
        starts[topics.DISPUTES_REPORTED],
        await end_offsets(kafka, topics.DISPUTES_REPORTED),
        timeout_s=120,
    )
    published: dict[int, set[str]] = defaultdict(set)
    for record in records:
        try:
            event = DisputeReported.model_validate_json(record.value)
        except ValidationError:
            continue
        number = number_of(run, event.dispute.description)
        if number is not None:
            published[number].add(event.dispute.dispute_id)
    missing = [n for n in ids if ids[n] not in published.get(n, set())]
    split = [n for n, found in published.items() if len(found) > 1]
    verdict.check(not missing, f"every accepted report is on the topic ({len(missing)} are not)")
    verdict.check(not split, f"one dispute id per report on the topic ({len(split)} have more)")


def expected_metrics(cases: dict[int, list[Document]]) -> Counter[str]:
    """The town's counters recomputed from its cases: each was routed once and is still open."""
    expected: Counter[str] = Counter()
    for found in cases.values():
        for case in found:
            if not hanyin().is_within(case["unit_id"], TOWN):
                continue
            expected["assigned"] += case.get("routing_seq", 1)
            expected["started"] += 1
            expected["open"] += case["state"] not in CLOSED
    return expected


async def counted_metrics(database: Any) -> Counter[str]:
    counted: Counter[str] = Counter()
    async for doc in database.metrics.find({"unit": TOWN, "dim": ALL}):
        counts = doc.get("c", {})
        counted["assigned"] += counts.get("assigned", 0)
        counted["started"] += counts.get("started", 0)
    backlog = await database.metrics.find_one({"unit": TOWN, "dim": BACKLOG})
    counted["open"] = (backlog or {}).get("c", {}).get("open", 0)
    return counted


async def _judge_metrics(run: Run, verdict: Verdict, database: Any) -> None:
    deadline = time.monotonic() + 60
    while True:
        expected = expected_metrics(await _cases(run, database))
        counted = await counted_metrics(database)
        if counted == expected or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    verdict.check(
        counted == expected,
        f"metrics of {TOWN} equal the figures recomputed from its cases: "
        f"counted {dict(counted)}, recomputed {dict(expected)}",
    )


async def _judge_alerts(
    run: Run,
    verdict: Verdict,
    receiver: Receiver,
    subscription: str,
    *,
    ids: dict[int, str],
    starts: dict[str, dict[TopicPartition, int]],
) -> None:
    kafka = run.services.kafka
    ours = set(ids.values())
    records = await read_between(
        kafka, starts[topics.ALERTS], await end_offsets(kafka, topics.ALERTS), timeout_s=120
    )
    raised: set[str] = set()
    for record in records:
        try:
            alert = AlertRaised.model_validate_json(record.value)
        except ValidationError:
            continue
        if alert.kind == "urgent_risk" and alert.case_id in ours:
            raised.add(alert.alert_id)
    urgent = sum(1 for number in ids if number % 25 == 0)
    verdict.check(
        len(raised) == urgent, f"{len(raised)} urgent alerts raised for {urgent} urgent reports"
    )
    deadline = time.monotonic() + 60
    while True:
        keys = _keys_by_alert(receiver, subscription)
        if raised <= set(keys) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    missing = raised - set(keys)
    twice = [alert_id for alert_id in raised if len(keys.get(alert_id, ())) > 1]
    posts = sum(1 for hook in receiver.at("chaos") if hook.answered == 200)
    verdict.check(not missing, f"the receiver got every alert ({len(missing)} missing)")
    verdict.check(
        not twice,
        f"each alert once per subscription by idempotency key ({posts} accepted posts, "
        f"{len(twice)} alerts under more than one key)",
    )


def _keys_by_alert(receiver: Receiver, subscription: str) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = defaultdict(set)
    for hook in receiver.at("chaos"):
        if hook.answered != 200 or not hook.verified:
            continue
        if hook.payload.get("subscription_id") != subscription:
            continue
        for alert_id in hook.alert_ids():
            keys[alert_id].add(hook.key)
    return keys


async def _judge_poison(
    run: Run, verdict: Verdict, starts: dict[str, dict[TopicPartition, int]]
) -> None:
    kafka = run.services.kafka
    records = await read_between(
        kafka, starts[topics.DEAD_LETTER], await end_offsets(kafka, topics.DEAD_LETTER)
    )
    poison = [r for r in records if r.key == run.poison_key]
    attempts = [int(dict(r.headers).get("x-dlq-attempts", b"0")) for r in poison]
    verdict.check(
        bool(poison) and all(0 < a <= 3 for a in attempts),
        f"the poison event is dead-lettered after <= 3 attempts (attempts {attempts})",
    )
