"""One behaviour test of intake's storage seam, run on the in-memory fake and on the real server
(a database of its own), so the fake the component tests use cannot drift from MongoDB."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from intake.store import IntakeStore, MongoIntakeStore
from intake.tracking import TrackingNumbers
from services.mongo import Document
from tests.fakes import InMemoryIntakeStore
from tests.integration.conftest import Infra

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 1, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=["fake", "mongodb"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[IntakeStore]:
    if request.param == "fake":
        yield InMemoryIntakeStore()
        return
    infra: Infra = request.getfixturevalue("infra")
    client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    name = f"test_intake_store_{uuid.uuid4().hex[:12]}"
    try:
        adapter = MongoIntakeStore(client[name])
        await adapter.ensure_indexes()
        yield adapter
    finally:
        await client.drop_database(name)
        await client.close()


def reservation(key: str, dispute_id: str) -> Document:
    return {"_id": key, "dispute_id": dispute_id, "tracking_number": "HY-20261122-000001"}


def dispute_doc(dispute_id: str, tracking_number: str, **extra: object) -> Document:
    return {
        "_id": dispute_id,
        "tracking_number": tracking_number,
        "received_at": T0,
        "dispute": {"dispute_id": dispute_id, "description": "两户吵架"},
        "private": {},
        **extra,
    }


class TestIntakeStore:
    async def test_a_key_is_reserved_once_and_a_retry_finds_the_first_reservation(
        self, store: IntakeStore
    ) -> None:
        assert await store.request("hotline:k1") is None
        assert await store.reserve(reservation("hotline:k1", "d-1")) is None
        found = await store.reserve(reservation("hotline:k1", "d-2"))
        assert found is not None
        assert found["dispute_id"] == "d-1"
        assert await store.request("hotline:k1") == found
        assert await store.reserve(reservation("hotline:k2", "d-3")) is None

    async def test_the_outbox_keeps_the_first_entry_of_a_dispute(self, store: IntakeStore) -> None:
        assert await store.outbox("d-1") is None
        await store.put_outbox({"_id": "d-1", "event": "first"})
        await store.put_outbox({"_id": "d-1", "event": "second"})
        assert await store.outbox("d-1") == {"_id": "d-1", "event": "first"}

    async def test_a_stored_dispute_stays_as_it_was_and_is_found_by_its_tracking_number(
        self, store: IntakeStore
    ) -> None:
        await store.add_disputes([dispute_doc("d-1", "HY-20261122-000001", private={"a": 1})])
        await store.add_disputes(
            [dispute_doc("d-1", "HY-20261122-000001"), dispute_doc("d-2", "HY-20261122-000002")]
        )
        await store.add_disputes([])
        first = await store.dispute("d-1")
        assert first is not None
        assert first["private"] == {"a": 1}
        assert first["received_at"] == T0.replace(microsecond=123000)  # BSON keeps milliseconds
        assert first["received_at"].utcoffset() == timedelta(0)
        assert await store.dispute("d-2") is not None
        assert await store.dispute("d-3") is None
        await store.add_tracking("HY-20261122-000002", "d-2")
        await store.add_tracking("HY-20261122-000002", "d-1")  # a number names one dispute
        by_number = await store.dispute_by_tracking("HY-20261122-000002")
        assert by_number is not None
        assert by_number["_id"] == "d-2"
        assert await store.dispute_by_tracking("HY-20261122-000009") is None

    async def test_counters_count_from_one_each_on_its_own(self, store: IntakeStore) -> None:
        assert [await store.next_number("HY-20261122") for _ in range(3)] == [1, 2, 3]
        assert await store.next_number("HY-20261123") == 1
        assert await store.next_number("HY-20261122") == 4
        assert await store.next_number("HY-20261122", 5) == 9  # took 5 to 9
        assert await store.next_number("HY-20261122") == 10

    async def test_concurrent_callers_get_consecutive_numbers_without_gaps(
        self, store: IntakeStore
    ) -> None:
        numbers = [TrackingNumbers(store, "HY") for _ in range(3)]  # three intake processes
        handed = await asyncio.gather(*(numbers[i % 3].next(T0) for i in range(300)))
        assert sorted(handed) == [f"HY-20261122-{n:06d}" for n in range(1, 301)]

    async def test_the_earliest_match_of_the_window_is_the_first_report(
        self, store: IntakeStore
    ) -> None:
        key, since = "v|neighbour|h1", T0 - timedelta(days=6)
        assert await store.earliest_match(key, "d-1", T0, since) == "d-1"
        later = T0 + timedelta(hours=1)
        assert await store.earliest_match(key, "d-2", later, since) == "d-1"
        assert await store.earliest_match(key, "d-2", later, since) == "d-1"  # asked again
        assert await store.earliest_match("v|family|h1", "d-3", later, since) == "d-3"

    async def test_a_match_before_the_window_is_not_the_earliest(self, store: IntakeStore) -> None:
        key = "v|neighbour|h1"
        assert await store.earliest_match(key, "d-1", T0, T0 - timedelta(days=6)) == "d-1"
        day_3, day_8 = T0 + timedelta(days=2), T0 + timedelta(days=7)
        assert await store.earliest_match(key, "d-2", day_3, day_3 - timedelta(days=6)) == "d-1"
        # On day 8 the first report has left the window; the one of day 3 has not.
        since = day_8 - timedelta(days=6)
        assert await store.earliest_match(key, "d-3", day_8, since) == "d-2"
        assert await store.earliest_match(key, "d-4", day_8, day_8) == "d-3"

    async def test_the_earliest_match_goes_by_time_not_by_arrival(self, store: IntakeStore) -> None:
        key, since = "v|neighbour|h2", T0 - timedelta(days=6)
        assert await store.earliest_match(key, "late", T0 + timedelta(seconds=5), since) == "late"
        assert await store.earliest_match(key, "early", T0, since) == "early"
        assert await store.earliest_match(key, "late", T0 + timedelta(seconds=5), since) == "early"

    async def test_status_entries_are_kept_once_per_event_and_read_by_dispute(
        self, store: IntakeStore
    ) -> None:
        entries = [
            {"_id": "d-1|e1", "dispute_id": "d-1", "status": "routed", "at": T0},
            {"_id": "d-1|e2", "dispute_id": "d-1", "status": "assigned", "at": T0},
            {"_id": "d-2|e3", "dispute_id": "d-2", "status": "routed", "at": T0},
        ]
        await store.add_status(entries[:2])
        await store.add_status(entries)  # a redelivered batch
        await store.add_status([])
        found = await store.status_entries("d-1")
        assert sorted(entry["_id"] for entry in found) == ["d-1|e1", "d-1|e2"]
        assert [entry["_id"] for entry in await store.status_entries("d-2")] == ["d-2|e3"]
        assert await store.status_entries("d-3") == []

    async def test_text_bson_cannot_hold_is_refused_and_nul_is_kept(
        self, store: IntakeStore
    ) -> None:
        with pytest.raises(UnicodeEncodeError):
            await store.add_disputes([dispute_doc("d-1", "HY-20261122-000001", note="\ud800")])
        assert await store.dispute("d-1") is None
        text = "a\x00b\U0010ffff"
        await store.add_disputes([dispute_doc("d-2", "HY-20261122-000002", note=text)])
        kept = await store.dispute("d-2")
        assert kept is not None
        assert kept["note"] == text
