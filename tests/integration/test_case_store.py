"""One behaviour test of mediation's case storage, run on the in-memory fake and on the real
server (a database of its own), so the fake the component tests use cannot drift from MongoDB."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from contracts.vocabulary import CaseState
from mediation.store import CaseStore, MongoCaseStore
from services.mongo import Document
from tests.fakes import InMemoryCaseStore
from tests.integration.conftest import Infra

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


@pytest.fixture(params=["fake", "mongodb"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[CaseStore]:
    if request.param == "fake":
        yield InMemoryCaseStore()
        return
    infra: Infra = request.getfixturevalue("infra")
    client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    name = f"test_case_store_{uuid.uuid4().hex[:12]}"
    try:
        adapter = MongoCaseStore(client[name])
        await adapter.ensure_indexes()
        yield adapter
    finally:
        await client.drop_database(name)
        await client.close()


def case(case_id: str, **extra: object) -> Document:
    return {
        "_id": case_id,
        "unit_id": "village-a",
        "state": CaseState.ASSIGNED.value,
        "mediator_id": "m-1",
        "priority_rank": 1,
        "due_at": T0 + timedelta(days=3),
        "version": 1,
        "timeline": [],
        "outbox": [],
        **extra,
    }


def entry(event_id: str, queued_at: datetime = T0) -> Document:
    return {"event_id": event_id, "topic": "t", "payload": "{}", "queued_at": queued_at}


class TestCaseStore:
    async def test_a_new_case_is_added_once(self, store: CaseStore) -> None:
        assert await store.add_new([case("c-1"), case("c-2")]) == {"c-1", "c-2"}
        assert await store.add_new([case("c-1", mediator_id="m-9"), case("c-3")]) == {"c-3"}
        first = await store.get("c-1")
        assert first is not None
        assert first["mediator_id"] == "m-1"
        assert await store.get("c-9") is None

    async def test_a_change_applies_only_at_the_version_read(self, store: CaseStore) -> None:
        await store.add_new([case("c-1")])
        step = {"kind": "accepted", "at": T0}
        changes = {"state": CaseState.IN_MEDIATION.value}
        assert await store.apply("c-1", 1, changes, [step], [entry("e-1")])
        assert not await store.apply("c-1", 1, {"state": "closed"}, [step], [])
        stored = await store.get("c-1")
        assert stored is not None
        assert (stored["state"], stored["version"]) == (CaseState.IN_MEDIATION.value, 2)
        assert stored["timeline"] == [step]
        assert [e["event_id"] for e in stored["outbox"]] == ["e-1"]

    async def test_of_writers_racing_on_one_version_exactly_one_wins(
        self, store: CaseStore
    ) -> None:
        await store.add_new([case("c-1")])
        attempts = [
            store.apply("c-1", 1, {"mediator_id": f"m-{n}"}, [{"n": n}], [entry(f"e-{n}")])
            for n in range(20)
        ]
        won = [n for n, ok in enumerate(await asyncio.gather(*attempts)) if ok]
        assert len(won) == 1
        stored = await store.get("c-1")
        assert stored is not None
        assert stored["version"] == 2
        assert stored["mediator_id"] == f"m-{won[0]}"
        assert stored["timeline"] == [{"n": won[0]}]

    async def test_clearing_the_outbox_is_a_change_and_yields_to_a_later_one(
        self, store: CaseStore
    ) -> None:
        await store.add_new([case("c-1", outbox=[entry("e-0")])])
        await store.clear_outbox("c-1", 1)
        cleared = await store.get("c-1")
        assert cleared is not None
        assert (cleared["outbox"], cleared["version"]) == ([], 2)
        assert await store.apply("c-1", 2, {}, [], [entry("e-1")])
        await store.clear_outbox("c-1", 2)  # moved on to 3: left alone
        kept = await store.get("c-1")
        assert kept is not None
        assert [e["event_id"] for e in kept["outbox"]] == ["e-1"]

    async def test_stale_outboxes_and_due_deadlines_are_found(self, store: CaseStore) -> None:
        await store.add_new(
            [
                case("old", outbox=[entry("e-1", T0 - timedelta(minutes=5))]),
                case("fresh", outbox=[entry("e-2", T0)]),
                case("due", next_deadline_at=T0 - timedelta(hours=1)),
                case("later", next_deadline_at=T0 + timedelta(hours=1)),
            ]
        )
        stale = await store.stale_outbox(T0 - timedelta(minutes=1), 10)
        assert [doc["_id"] for doc in stale] == ["old"]
        assert [doc["_id"] for doc in await store.due(T0, None, 10)] == ["due"]
        since = T0 - timedelta(minutes=30)
        assert await store.due(T0, since, 10) == []

    async def test_the_queue_orders_by_priority_then_due_and_counts_by_mediator(
        self, store: CaseStore
    ) -> None:
        await store.add_new(
            [
                case("low", priority_rank=1, due_at=T0),
                case("high-late", priority_rank=3, due_at=T0 + timedelta(days=2)),
                case("high-soon", priority_rank=3, due_at=T0 + timedelta(days=1)),
                case("other", mediator_id="m-2"),
                case("closed", state=CaseState.RESOLVED.value),
                case("elsewhere", unit_id="village-b"),
            ]
        )
        open_states = [CaseState.ASSIGNED]
        queue = await store.queue("village-a", open_states, "m-1", 10)
        assert [doc["_id"] for doc in queue] == ["high-soon", "high-late", "low"]
        assert await store.open_by_mediator("village-a", open_states) == {"m-1": 3, "m-2": 1}
