"""One behaviour test of mediation's metrics seam, run on the in-memory fake and on the real
server (a database of its own): each event counts once, a batch counts whole or not at all,
so the fake the component tests use cannot drift from MongoDB."""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from mediation.metrics import ALL, BACKLOG, Contribution, increments_of
from mediation.metrics_store import MetricsStore, MongoMetricsStore
from services.mongo import Document
from tests.factories import JIANGHE
from tests.fakes import InMemoryMetricsStore

pytestmark = pytest.mark.integration

Batch = dict[str, Contribution]
State = dict[str, Any]


@pytest.fixture
async def mongo_store(
    mongo: AsyncMongoClient[Document],
) -> AsyncIterator[MongoMetricsStore]:
    name = f"test_metrics_store_{uuid.uuid4().hex[:12]}"
    try:
        adapter = MongoMetricsStore(mongo[name])
        await adapter.ensure_indexes()
        yield adapter
    finally:
        await mongo.drop_database(name)


@pytest.fixture(params=["fake", "mongodb"])
def store(request: pytest.FixtureRequest) -> MetricsStore:
    if request.param == "fake":
        return InMemoryMetricsStore()
    adapter: MongoMetricsStore = request.getfixturevalue("mongo_store")
    return adapter


def contribution(n: int) -> Contribution:
    """Events spread over two days, three channels and a few counters."""
    counts = {"assigned": 1, "started": n % 2} if n % 3 else {"sessions": 1}
    values = {"tier": "village", "channel": f"ch{n % 3}", "category": "neighbour"}
    return Contribution(JIANGHE, f"2026-11-{22 + n % 2}", values, counts, backlog=1)


def batch(numbers: Iterable[int]) -> Batch:
    return {f"e{n}": contribution(n) for n in numbers}


async def observed(store: MetricsStore) -> State:
    """What the store's reads show: totals and backlog per unit, the village's documents."""
    documents = await store.documents(JIANGHE, None, None, children=False)
    return {
        "totals": {unit: +counts for unit, counts in (await store.totals()).items()},
        "backlog": await store.backlog(),
        "documents": {(d["day"], d["dim"], d["value"]): +Counter(d["c"]) for d in documents},
    }


def recount(contributions: Batch) -> State:
    """The same reads, from every event counted once."""
    state: State = {"totals": {}, "backlog": {}, "documents": {}}
    for item in increments_of(contributions.values()).values():
        keys, counts = item.keys, +item.inc
        if keys["dim"] == BACKLOG:
            state["backlog"][keys["unit"]] = counts["open"]
            continue
        if keys["dim"] == ALL:
            state["totals"].setdefault(keys["unit"], Counter()).update(counts)  # over days
        if keys["unit"] == JIANGHE:
            state["documents"][(keys["day"], keys["dim"], keys["value"])] = counts
    return state


class TestMetricsStore:
    async def test_a_batch_is_counted(self, store: MetricsStore) -> None:
        assert await store.count({}) == set()
        events = batch(range(6))
        assert await store.count(events) == set(events)
        state = await observed(store)
        assert state == recount(events)
        assert state["backlog"][JIANGHE] == 6
        assert state["totals"]["hanyin"]["assigned"] == 4

    async def test_a_redelivered_batch_counts_nothing(self, store: MetricsStore) -> None:
        events = batch(range(6))
        await store.count(events)
        assert await store.count(events) == set()
        assert await observed(store) == recount(events)

    async def test_a_batch_overlapping_a_counted_one_counts_only_its_new_events(
        self, store: MetricsStore
    ) -> None:
        await store.count(batch(range(6)))
        assert await store.count(batch(range(4, 10))) == {f"e{n}" for n in range(6, 10)}
        assert await observed(store) == recount(batch(range(10)))

    async def test_concurrent_overlapping_batches_count_each_event_once(
        self, store: MetricsStore
    ) -> None:
        # Every batch touches the same counter documents and shares events with the others.
        batches = [batch(range(start, start + 30)) for start in (0, 10, 20, 5)]
        counted = await asyncio.gather(*(store.count(events) for events in batches))
        assert sum(len(ids) for ids in counted) == 50
        assert set().union(*counted) == set(batch(range(50)))
        assert await observed(store) == recount(batch(range(50)))

    async def test_a_batch_failing_midway_counts_nothing_and_counts_once_when_redelivered(
        self, store: MetricsStore
    ) -> None:
        events = batch(range(6))
        # The server refuses this update after the marks and the other updates were written.
        refused = Contribution(JIANGHE, "2026-11-22", contribution(0).values, {"a..b": 1}, 0)
        with pytest.raises(OperationFailure):
            await store.count({**events, "refused": refused})
        assert await observed(store) == recount({})
        assert await store.count(events) == set(events)
        assert await observed(store) == recount(events)
