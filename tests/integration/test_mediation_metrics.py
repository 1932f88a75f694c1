"""Metrics correctness: 1,000 cases with known outcomes driven through the real pipeline
(routed events on Kafka, mediator actions over HTTP, lifecycle events back through Kafka into
the read models), then every figure of the metrics API compared with figures computed here
from the test's own inputs.

The stack is shared: other tests (and the simulator) file reports into the same villages
today. So the test's cases live on days of their own, decades back: each routing says when it
was decided, each action says when it happened (`at`, as a mediator recording afterwards
would), and every figure is read for that period only. The sweeper only looks a few minutes
back, so it leaves these cases alone (late acceptance and resolution are covered by the
lifecycle unit tests).

The test stands in for the router's first routings, but a failure at the village goes
through the stack's real router, which re-routes it to the town. The router dates that
decision by its own clock (today, outside the test's days), so the town's assignment is
checked on the case, and the town's acceptance and resolution in the figures.
"""

import asyncio
import math
import os
import random
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import httpx
import pytest

from contracts.events import CaseRouted
from contracts.registry import hanyin
from contracts.vocabulary import Category, Channel
from tests.auth import as_needed
from tests.factories import dispute as a_dispute
from tests.integration.conftest import Stack
from tests.integration.mediation_helpers import (
    get_case,
    mediator_of,
    publish_routed,
    routed_case,
)
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.metrics_scale]
CHINA = timezone(timedelta(hours=8))
T = TypeVar("T")

N = int(os.environ.get("MEDIATION_METRICS_CASES", "1000"))
TOWNS = ("hanyin-xuanwo", "hanyin-hanyang", "hanyin-guanyinhe")
VILLAGES = (
    "hanyin-xuanwo-baiyuan",
    "hanyin-xuanwo-dongzhuang",
    "hanyin-hanyang-chaling",
    "hanyin-hanyang-chawan",
    "hanyin-guanyinhe-chaya",
    "hanyin-guanyinhe-gaoba",
)
SENTINEL_VILLAGES = tuple(f"hanyin-jianchi-{v}" for v in ("baiba", "chabao", "dongshan", "gaoya"))
CHANNELS = (Channel.HOTLINE, Channel.WECHAT, Channel.GRID, Channel.PETITION)
CATEGORIES = (
    Category.NEIGHBOUR,
    Category.FAMILY,
    Category.HOUSING_SITE,
    Category.CONTRACT_DEBT,
    Category.INHERITANCE,
)
AGE_HOURS = (0.25, 1.5, 3, 6, 10, 18, 36)
"""How long before the test each case was routed: mid-bucket, far from every bucket edge."""
SATISFACTION = ("satisfied", "basically", "dissatisfied")
FAR = timedelta(days=300)
SHIFT = timedelta(days=random.randint(3650, 36500))
SENTINEL_AGE = timedelta(days=1000)


# ---- the test's own model of each case ---------------------------------------------------------


@dataclass
class Plan:
    index: int
    routed: CaseRouted
    kind: str
    late_accept: bool
    late_resolve: bool
    sessions: int = 0
    satisfaction: str | None = None
    fulfilled: bool | None = None
    rebound: CaseRouted | None = None

    @property
    def village(self) -> str:
        return self.routed.unit_id

    @property
    def town(self) -> str:
        return hanyin().parent_of(self.village) or ""


KINDS = (
    ["resolve"] * 9
    + ["refer"] * 2
    + ["withdraw_accepted", "withdraw_assigned"]
    + ["fail_then_resolve"] * 3
    + ["fail_then_wait", "accepted_open", "assigned_open", "resolve_then_rebound"]
)


def plan_cases() -> list[Plan]:
    plans = []
    for i in range(N):
        kind = KINDS[i % len(KINDS)]
        late_accept = late_resolve = False
        routed = routed_case(
            VILLAGES[i % len(VILLAGES)],
            decided_at=_now() - timedelta(hours=AGE_HOURS[i % len(AGE_HOURS)]),
            accept_within=FAR,
            resolve_within=FAR,
            channel=CHANNELS[i % len(CHANNELS)],
            category=CATEGORIES[i % len(CATEGORIES)],
        )
        plan = Plan(i, routed, kind, late_accept, late_resolve, sessions=i % 3)
        if kind in ("resolve", "resolve_then_rebound") and i % 4 != 3:
            plan.satisfaction = SATISFACTION[i % 3]
        if kind == "resolve" and i % 5 in (0, 1):
            plan.fulfilled = i % 2 == 0
        plans.append(plan)
    return plans


def _now() -> datetime:
    """The test's own clock, decades back."""
    return datetime.now(UTC) - SHIFT


def _days(at: datetime, before: int, after: int) -> dict[str, str]:
    day = at.astimezone(CHINA).date()
    start, end = day - timedelta(days=before), day + timedelta(days=after)
    return {"from": start.isoformat(), "to": end.isoformat()}


PERIOD: dict[str, str] = {}
"""The test's days, set once the test starts."""


@dataclass
class Tally:
    """Expected counters for one group, built from the plans, not from events."""

    c: Counter[str] = field(default_factory=Counter)
    hours: list[float] = field(default_factory=list)


def expected(plans: list[Plan], started: dict[str, float], resolved_at: dict[str, float]) -> Any:
    """Map (unit, dimension, value) → Tally, for every unit of the subtree of each case."""
    tallies: dict[tuple[str, str, str], Tally] = defaultdict(Tally)

    def add(plan: Plan, unit: str, tier: str, **counts: int) -> None:
        for target in _units_up(unit):
            for dim, value in (
                ("all", ""),
                ("tier", tier),
                ("channel", _ch(plan)),
                ("category", _cat(plan)),
            ):
                tallies[(target, dim, value)].c.update(counts)

    def resolved(plan: Plan, unit: str, tier: str, *, on_time: bool, origin: bool) -> None:
        add(
            plan,
            unit,
            tier,
            resolved=1,
            resolved_on_time=int(on_time),
            resolved_at_origin=int(origin),
        )
        hours = (resolved_at[plan.routed.case_id] - started[plan.routed.case_id]) / 3600
        for target in _units_up(unit):
            for dim, value in (
                ("all", ""),
                ("tier", tier),
                ("channel", _ch(plan)),
                ("category", _cat(plan)),
            ):
                tallies[(target, dim, value)].hours.append(hours)

    for plan in plans:
        v = plan.village
        add(plan, v, "village", assigned=1, started=1, backlog_change=1)
        if plan.kind == "withdraw_assigned":
            add(plan, v, "village", withdrawn=1, backlog_change=-1)
            continue
        if plan.kind == "assigned_open":
            continue
        add(plan, v, "village", accepted=1, accepted_on_time=int(not plan.late_accept))
        if plan.sessions and plan.kind in ("resolve", "resolve_then_rebound", "refer"):
            add(plan, v, "village", sessions=plan.sessions)
        if plan.kind in ("resolve", "resolve_then_rebound"):
            resolved(plan, v, "village", on_time=not plan.late_resolve, origin=True)
            add(plan, v, "village", backlog_change=-1)
            if plan.satisfaction:
                add(plan, v, "village", visits=1, **{plan.satisfaction: 1})
            if plan.fulfilled is not None:
                add(plan, v, "village", followed_up=1, fulfilled=int(plan.fulfilled))
            if plan.kind == "resolve_then_rebound":
                add(plan, v, "village", reopened=1, backlog_change=1)  # the old case, reopened
                add(plan, v, "village", assigned=1, started=1, backlog_change=1)  # the new report
        elif plan.kind == "refer":
            add(plan, v, "village", referred=1, backlog_change=-1)
        elif plan.kind == "withdraw_accepted":
            add(plan, v, "village", withdrawn=1, backlog_change=-1)
        elif plan.kind.startswith("fail"):
            add(plan, v, "village", failed=1, escalated=1, escalated_failed=1, backlog_change=-1)
            # The router's re-route (assigned, backlog +1) is dated today, and so is what the
            # town does after it: not in these days.
    return tallies


def _units_up(unit: str) -> Iterator[str]:
    while unit:
        yield unit
        unit = hanyin().parent_of(unit) or ""


def _ch(plan: Plan) -> str:
    return plan.routed.dispute.channel.value


def _cat(plan: Plan) -> str:
    return plan.routed.dispute.category.value


def figures_of(tally: Tally) -> dict[str, Any]:
    c = tally.c

    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    return {
        "resolution_rate": ratio(c["resolved"], c["resolved"] + c["failed"] + c["referred"]),
        "kept_at_origin_rate": ratio(c["resolved_at_origin"], c["started"]),
        "timely_acceptance_rate": ratio(c["accepted_on_time"], c["accepted"]),
        "on_time_resolution_rate": ratio(c["resolved_on_time"], c["resolved"]),
        "median_hours_to_resolution": _quantile_edge(tally.hours, 0.5),
        "p90_hours_to_resolution": _quantile_edge(tally.hours, 0.9),
        "escalation_rate": ratio(c["escalated"], c["assigned"]),
        "rebound_rate": ratio(c["reopened"], c["resolved"]),
        "satisfaction_rate": ratio(c["satisfied"] + c["basically"], c["visits"]),
        "fulfilment_rate": ratio(c["fulfilled"], c["followed_up"]),
        "counts": {k: v for k, v in c.items() if v}
        | {"closed": c["resolved"] + c["failed"] + c["referred"]},
    }


def _quantile_edge(hours: list[float], q: float) -> Any:
    """The median (mean of the middle two for an even count) and the nearest-rank p90 of the
    true durations, as measured to the second."""
    if not hours:
        return None
    ordered = sorted(hours)
    if q == 0.5:
        value = statistics.median(ordered)
    else:
        value = ordered[math.ceil(round(q * len(hours), 9)) - 1]
    return pytest.approx(value, abs=0.01)


async def metrics(
    http: httpx.AsyncClient,
    url: str,
    unit: str,
    by: str | None = None,
    period: dict[str, str] | None = None,
) -> Any:
    params = {"unit": unit, **(PERIOD if period is None else period)} | ({"by": by} if by else {})
    response = await http.get(f"{url}/v1/metrics/resolution", params=params)
    response.raise_for_status()
    return response.json()


# ---- driving the cases --------------------------------------------------------------------------


class Driver:
    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url = http, url
        self.limit = asyncio.Semaphore(12)
        self.resolved_at: dict[str, float] = {}

    async def post(self, case_id: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        at = body.get("at") or _now()
        body = {**body, "at": at.isoformat()}
        async with self.limit:
            response = await self.http.post(f"{self.url}/v1/cases/{case_id}/{action}", json=body)
        assert response.status_code == 200, (case_id, action, response.text)
        result: dict[str, Any] = response.json()
        return result

    async def village_part(self, plan: Plan) -> None:
        case_id, mediator = plan.routed.case_id, mediator_of(plan.village)
        if plan.kind == "withdraw_assigned":
            await self.post(case_id, "outcome", outcome(mediator, "withdrawn", reason="已和解"))
            return
        if plan.kind == "assigned_open":
            return
        await self.post(case_id, "accept", {"mediator_id": mediator})
        if plan.kind in ("resolve", "resolve_then_rebound", "refer"):
            for n in range(plan.sessions):
                await self.post(case_id, "sessions", session(mediator, n))
        if plan.kind in ("resolve", "resolve_then_rebound"):
            await self.resolve(case_id, mediator)
            if plan.satisfaction:
                visit = {"mediator_id": mediator, "satisfaction": plan.satisfaction}
                await self.post(case_id, "visit", visit)
            if plan.fulfilled is not None:
                body = {"mediator_id": mediator, "fulfilled": plan.fulfilled}
                await self.post(case_id, "follow-up", body)
        elif plan.kind == "refer":
            await self.post(case_id, "outcome", outcome(mediator, "referred", referred_to="court"))
        elif plan.kind == "withdraw_accepted":
            await self.post(case_id, "outcome", outcome(mediator, "withdrawn", reason="撤回"))
        elif plan.kind.startswith("fail"):
            await self.post(case_id, "outcome", outcome(mediator, "failed", reason="未达成"))

    async def town_part(self, plan: Plan, mediator: str) -> None:
        """Dated today: nothing may be dated before the router's re-route, which its own clock
        dates today."""
        if plan.kind != "fail_then_resolve":
            return
        today = datetime.now(UTC)
        await self.post(plan.routed.case_id, "accept", {"mediator_id": mediator, "at": today})
        await self.resolve(plan.routed.case_id, mediator, today)

    async def resolve(self, case_id: str, mediator: str, at: datetime | None = None) -> None:
        at = at or _now()
        body = outcome(mediator, "resolved", agreement="oral", summary="双方达成口头协议")
        await self.post(case_id, "outcome", {**body, "at": at})
        self.resolved_at[case_id] = at.timestamp()


def outcome(mediator: str, kind: str, **fields: str) -> dict[str, Any]:
    return {"mediator_id": mediator, "outcome": kind, **fields}


def session(mediator: str, n: int) -> dict[str, Any]:
    return {
        "mediator_id": mediator,
        "held_at": _now().isoformat(),
        "participants": ["申请人", "被申请人"],
        "notes": f"第{n + 1}次调解",
    }


async def settled(probe: Callable[[], Awaitable[T | None]], what: str, timeout_s: float = 240) -> T:
    return await eventually(probe, timeout_s=timeout_s, what=what)


async def in_town_queues(
    http: httpx.AsyncClient, url: str, failing: list[Plan]
) -> dict[str, str] | None:
    """Each failed case's mediator once the router has re-routed it to its village's town."""
    mediators = {}
    for plan in failing:
        case = await get_case(http, url, plan.routed.case_id)
        if case is None or case["routing_seq"] != 2:
            return None
        assert (case["tier"], case["unit_id"]) == ("town", plan.town), case
        mediators[plan.routed.case_id] = case["mediator_id"]
    return mediators


async def test_metrics_match_figures_computed_from_the_inputs(stack: Stack) -> None:
    plans = plan_cases()
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(auth=as_needed, timeout=30, limits=limits) as http:
        PERIOD.update(_days(_now(), 3, 2))
        mediation = stack.urls["mediation"]
        towns_before = await towns_today(http, mediation)
        await publish_routed(stack.infra.kafka, [plan.routed for plan in plans])

        async def counted(field_name: str, total: int) -> bool:
            found: list[int] = [
                (await metrics(http, mediation, town))["total"]["counts"].get(field_name, 0)
                for town in TOWNS
            ]
            return sum(found) >= total

        await settled(lambda: counted("started", N), "every case stored and counted", 600)
        driver = Driver(http, mediation)
        await asyncio.gather(*(driver.village_part(plan) for plan in plans))
        failing = [plan for plan in plans if plan.kind.startswith("fail")]
        rebounds = [plan for plan in plans if plan.kind == "resolve_then_rebound"]
        for plan in rebounds:
            report = a_dispute(
                dispute_id=str(uuid.uuid4()),
                village_id=plan.village,
                channel=plan.routed.dispute.channel,
                category=plan.routed.dispute.category,
            )
            plan.rebound = routed_case(
                plan.village,
                dispute=report,
                accept_within=FAR,
                resolve_within=FAR,
                rebound_of=plan.routed.case_id,
                decided_at=_now(),
            )
        await publish_routed(stack.infra.kafka, [p.rebound for p in rebounds if p.rebound])
        town_mediators = await settled(
            lambda: in_town_queues(http, mediation, failing), "the router's re-routes to towns"
        )
        await settled(lambda: counted("assigned", N + len(rebounds)), "the rebound reports stored")
        await asyncio.gather(
            *(driver.town_part(plan, town_mediators[plan.routed.case_id]) for plan in failing)
        )

        started = {p.routed.case_id: p.routed.occurred_at.timestamp() for p in plans}
        tallies = expected(plans, started, driver.resolved_at)
        town_tally = tallies[(TOWNS[0], "all", "")]

        differences: dict[str, tuple[int, int]] = {}

        async def town_done() -> bool:
            got = (await metrics(http, mediation, TOWNS[0]))["total"]["counts"]
            differences.clear()
            for name in set(got) | set(town_tally.c):
                if name != "closed" and got.get(name, 0) != town_tally.c[name]:
                    differences[name] = (got.get(name, 0), town_tally.c[name])
            return not differences

        try:
            await settled(town_done, "the lifecycle events counted")
        except AssertionError as error:
            raise AssertionError(f"{error}; (got, wanted): {differences}") from error
        await settled(
            lambda: counted("resolved", sum(tallies[(t, "all", "")].c["resolved"] for t in TOWNS)),
            "all resolutions counted",
        )

        for unit in ("hanyin", *TOWNS):
            await compare_unit(http, mediation, tallies, unit)
        await settled(
            lambda: towns_counted_today(http, mediation, failing, towns_before), "the towns' work"
        )
        by_day = await metrics(http, mediation, "hanyin", "day")
        assert sum(g["counts"]["assigned"] for g in by_day["groups"]) == N + len(rebounds)


TOWN_COUNTS = ("assigned", "accepted", "resolved")


async def towns_today(http: httpx.AsyncClient, url: str) -> dict[str, dict[str, int]]:
    """The towns' own tier over today: the router dates its re-routes now, and what the towns
    do may not be dated before them."""
    today = _days(datetime.now(UTC), 1, 1)
    found = {}
    for town in TOWNS:
        by_tier = await metrics(http, url, town, "tier", today)
        counts: dict[str, int] = next(
            (g["counts"] for g in by_tier["groups"] if g["key"] == "town"), {}
        )
        found[town] = {name: int(counts.get(name, 0)) for name in TOWN_COUNTS}
    return found


async def towns_counted_today(
    http: httpx.AsyncClient, url: str, failing: list[Plan], before: dict[str, dict[str, int]]
) -> bool:
    """What this test's failures added to the towns' tier today (other tests share the day)."""
    now = await towns_today(http, url)
    for town in TOWNS:
        moved_up = [plan for plan in failing if plan.town == town]
        resolved = sum(plan.kind == "fail_then_resolve" for plan in moved_up)
        wanted = {"assigned": len(moved_up), "accepted": resolved, "resolved": resolved}
        added = {name: now[town][name] - before[town][name] for name in TOWN_COUNTS}
        if added != wanted:
            return False
    return True


def strip(group: dict[str, Any]) -> dict[str, Any]:
    keys = ("key", "time_to_resolution_hours")
    return {k: v for k, v in group.items() if k not in keys}


async def compare_unit(http: httpx.AsyncClient, url: str, tallies: Any, unit: str) -> None:
    """Every figure of the unit, overall and by tier, channel, category and child unit."""
    overall = await metrics(http, url, unit)
    assert strip(overall["total"]) == figures_of(tallies[(unit, "all", "")]), unit
    for by in ("tier", "channel", "category"):
        got = await metrics(http, url, unit, by)
        wanted = {
            value: figures_of(tally)
            for (u, dim, value), tally in tallies.items()
            if u == unit and dim == by
        }
        assert {g["key"]: strip(g) for g in got["groups"]} == wanted, (unit, by)
    children = await metrics(http, url, unit, "unit")
    wanted_children = {
        u: figures_of(tally)
        for (u, dim, _), tally in tallies.items()
        if dim == "all" and hanyin().parent_of(u) == unit
    }
    assert {g["key"]: strip(g) for g in children["groups"]} == wanted_children, unit
