"""A simulated stretch of county work: the intake simulator files reports through every
channel while the mediation simulator plays the mediators, on a stack of its own (its own
topics and database, so no other test's cases mix in). Afterwards the resolution metrics
per town — the village kept-at-origin rate, the resolution rate and the median time to
resolution — must be exactly what the simulators' own records say.
"""

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from contracts import topics
from contracts.registry import hanyin
from intake import simulate as intake_simulation
from mediation import simulate as mediation_simulation
from tests.auth import TEST_AUTH_KEYS, TEST_WECHAT_SECRET
from tests.integration.conftest import Infra, Stack, running_stack
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.simulation]

RATE, SECONDS = 10, 15
OPEN = ["assigned", "accepted", "in_mediation", "reopened"]


@pytest.fixture(scope="module")
def county(infra: Infra) -> Iterator[Stack]:
    names = ("intake", "router", "mediation")
    with running_stack(infra, names, namespace=f"{topics.NAMESPACE}-county") as stack:
        yield stack


@pytest.fixture
def simulator_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulators sign with the keys the stack checks."""
    monkeypatch.setenv("AUTH_KEYS", TEST_AUTH_KEYS)
    monkeypatch.setenv("INTAKE_WECHAT_SECRET", TEST_WECHAT_SECRET)


@pytest.mark.usefixtures("simulator_keys")
async def test_metrics_per_town_after_a_simulated_run(county: Stack) -> None:
    intake, mediation = county.urls["intake"], county.urls["mediation"]
    reports = intake_simulation.run(intake, RATE, SECONDS, seed=11, bad_share=0.05)
    mediators = mediation_simulation.work(mediation, SECONDS, drain_s=0, seed=5)
    (tally, _), first_hours = await asyncio.gather(reports, mediators)
    assert not first_hours.tally.refused, first_hours.tally.refused[:5]
    assert tally.counts["accepted"] > RATE * SECONDS / 2, tally.summary(SECONDS)
    # Then every acknowledged report reaches a queue and is worked to its outcome.
    accepted = tally.counts["accepted"]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(county.infra.mongodb_uri)
    cases = client[county.database]["cases"]
    try:
        await eventually(
            lambda: _at_least(cases, accepted), timeout_s=120, what=f"{accepted} cases stored"
        )
        done = await mediation_simulation.work(mediation, 0, drain_s=240, seed=6)
        assert not done.tally.refused, done.tally.refused[:5]
        assert await cases.count_documents({"state": {"$in": OPEN}}) == 0, "cases left waiting"
        outcomes = first_hours.tally.outcomes + done.tally.outcomes
        wanted = expected_rows(await _first_routings(cases), outcomes)
    finally:
        await client.close()
    rows = await eventually(
        lambda: _rows_when(mediation, wanted), timeout_s=60, what="the metrics settled"
    )
    assert rows == wanted
    assert sum(1 for row in rows if row["resolution_rate"] is not None) >= 5


async def _at_least(cases: AsyncCollection[dict[str, Any]], count: int) -> bool:
    return await cases.count_documents({}) >= count


async def _first_routings(cases: AsyncCollection[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """Each case's first routing (tier, unit), from its trace."""
    first = {}
    async for case in cases.find({}, projection={"trace": 1}):
        step = case["trace"][0]
        first[case["_id"]] = (step["tier"], step["unit_id"])
    return first


def expected_rows(
    first: dict[str, tuple[str, str]], outcomes: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """The per-town table computed from the simulators' own records."""
    registry = hanyin()
    started: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    closed: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for tier, unit_id in first.values():
        if tier == "village":
            started[_town(unit_id)] += 1
    for outcome in outcomes:
        town = _town(outcome["unit_id"])
        if outcome["outcome"] != "withdrawn":
            closed[town][outcome["outcome"]] += 1
        origin = first.get(outcome["case_id"], ("", ""))[0]
        if outcome["outcome"] == "resolved" and outcome["tier"] == origin == "village":
            kept[town] += 1
    rows = []
    for unit in registry.children_of(registry.top.id):
        counts = closed[unit.id]
        total = sum(counts.values())
        rows.append(
            {
                "town": unit.id,
                "name": unit.name,
                "village_kept_at_origin_rate": kept[unit.id] / started[unit.id]
                if started[unit.id]
                else None,
                "resolution_rate": counts["resolved"] / total if total else None,
                # Every simulated resolution takes seconds to minutes, as measured.
                "median_hours_to_resolution": pytest.approx(0.0, abs=0.25)
                if counts["resolved"]
                else None,
                "closed": total,
            }
        )
    return rows


def _town(unit_id: str) -> str:
    """The town a unit lies in; the county's own cases count for no town."""
    registry = hanyin()
    return next(
        (t.id for t in registry.children_of(registry.top.id) if registry.is_within(unit_id, t.id)),
        "",
    )


async def _rows_when(url: str, wanted: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    rows = await mediation_simulation.town_figures(url)
    return rows if rows == wanted else None
