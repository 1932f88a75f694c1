"""The insert coalescer: concurrent callers share one write, and each gets its own answer."""

import asyncio
from typing import Any

import pytest
from bson.errors import InvalidDocument
from pymongo.errors import AutoReconnect, BulkWriteError

from services.coalesce import InsertCoalescer
from services.mongo import DUPLICATE_KEY, Document
from tests.waiting import eventually


class FakeCollection:
    """Keeps documents by `_id` like a unique index; each write can be held open or failed."""

    def __init__(self, stored: tuple[str, ...] = ()) -> None:
        self.stored: dict[Any, Document] = {key: {"_id": key} for key in stored}
        self.writes: list[list[Any]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.in_flight = asyncio.Event()
        self.failures: list[Exception] = []
        self.refuse: set[Any] = set()
        """Ids refused with a validation error (not a duplicate)."""

    async def insert_many(self, documents: list[Document], *, ordered: bool) -> object:
        assert ordered is False
        if any("unencodable" in doc for doc in documents):  # as BSON encoding refuses it
            raise InvalidDocument("cannot encode object")
        self.writes.append([doc["_id"] for doc in documents])
        self.in_flight.set()
        await self.release.wait()
        if self.failures:
            raise self.failures.pop(0)
        errors = []
        for index, doc in enumerate(documents):
            if doc["_id"] in self.refuse:
                errors.append({"index": index, "code": 121, "errmsg": "validation failed"})
            elif doc["_id"] in self.stored:
                errors.append({"index": index, "code": DUPLICATE_KEY, "errmsg": "duplicate"})
            else:
                self.stored[doc["_id"]] = doc
        if errors:
            raise BulkWriteError({"writeErrors": errors, "writeConcernErrors": []})
        return None


def docs(*ids: str) -> list[Document]:
    return [{"_id": key} for key in ids]


async def held_first_write(
    collection: FakeCollection, coalescer: InsertCoalescer
) -> "asyncio.Task[set[Any]]":
    """A first caller whose write is in flight, held open until `collection.release` is set."""
    collection.release.clear()
    first = asyncio.create_task(coalescer.insert(docs("first")))
    await collection.in_flight.wait()
    return first


async def queued(coalescer: InsertCoalescer, callers: int) -> None:
    """Until that many callers wait behind the write in flight."""

    async def enough() -> bool:
        return coalescer.waiting >= callers

    await eventually(enough, timeout_s=5, what=f"{callers} callers queued")


async def test_callers_arriving_during_a_write_share_the_next_one() -> None:
    collection = FakeCollection()
    coalescer = InsertCoalescer(collection)
    first = await held_first_write(collection, coalescer)
    callers = [asyncio.create_task(coalescer.insert(docs(f"c{i}a", f"c{i}b"))) for i in range(30)]
    await queued(coalescer, 30)
    collection.release.set()
    answers = await asyncio.gather(*callers)
    assert await first == {"first"}
    assert answers == [{f"c{i}a", f"c{i}b"} for i in range(30)]
    assert len(collection.writes) == 2  # the held write, then all 60 documents at once
    assert sorted(collection.writes[1]) == sorted(f"c{i}{s}" for i in range(30) for s in "ab")
    assert coalescer.batches == 2


async def test_each_caller_learns_only_its_own_duplicates() -> None:
    collection = FakeCollection(stored=("old",))
    coalescer = InsertCoalescer(collection)
    first = await held_first_write(collection, coalescer)
    alone = asyncio.create_task(coalescer.insert(docs("x", "old")))
    both = asyncio.create_task(coalescer.insert(docs("x", "y")))  # loses "x" to the first
    fresh = asyncio.create_task(coalescer.insert(docs("z")))
    await queued(coalescer, 3)
    collection.release.set()
    assert await alone == {"x"}
    assert await both == {"y"}
    assert await fresh == {"z"}
    assert await first == {"first"}
    assert len(collection.writes) == 2


async def test_a_failed_write_fails_every_caller_of_that_batch_and_no_other() -> None:
    collection = FakeCollection()
    coalescer = InsertCoalescer(collection)
    first = await held_first_write(collection, coalescer)
    lost = AutoReconnect("connection closed")
    collection.failures = [lost]  # the held write fails, the next one succeeds
    in_failed_batch = asyncio.create_task(coalescer.insert(docs("a")))
    await queued(coalescer, 1)
    collection.release.set()
    with pytest.raises(AutoReconnect):
        await first
    assert await in_failed_batch == {"a"}

    collection.release.clear()
    collection.in_flight.clear()
    held = asyncio.create_task(coalescer.insert(docs("held")))
    await collection.in_flight.wait()
    five = [asyncio.create_task(coalescer.insert(docs(f"q{i}"))) for i in range(5)]
    await queued(coalescer, 5)
    collection.failures = [lost, lost]  # the held write and the batch of the five
    collection.release.set()
    results = await asyncio.gather(held, *five, return_exceptions=True)
    assert all(result is lost for result in results)
    assert await coalescer.insert(docs("after")) == {"after"}  # the next batch is not tainted


async def test_a_refused_document_fails_only_the_caller_it_came_from() -> None:
    collection = FakeCollection()
    collection.refuse = {"bad"}
    coalescer = InsertCoalescer(collection)
    first = await held_first_write(collection, coalescer)
    good = asyncio.create_task(coalescer.insert(docs("g1", "g2")))
    bad = asyncio.create_task(coalescer.insert(docs("ok", "bad")))
    await queued(coalescer, 2)
    collection.release.set()
    assert await good == {"g1", "g2"}
    with pytest.raises(BulkWriteError) as refused:
        await bad
    assert refused.value.details["writeErrors"] == [
        {"index": 1, "code": 121, "errmsg": "validation failed"}  # its own index, not the batch's
    ]
    assert await first == {"first"}


async def test_a_lone_caller_is_written_at_once_without_waiting_for_company() -> None:
    collection = FakeCollection()
    coalescer = InsertCoalescer(collection)
    assert await coalescer.insert(docs("solo")) == {"solo"}
    assert await coalescer.insert([]) == set()
    assert collection.writes == [["solo"]]


async def test_a_caller_cancelled_before_its_batch_left_is_not_written() -> None:
    collection = FakeCollection()
    coalescer = InsertCoalescer(collection)
    first = await held_first_write(collection, coalescer)
    gone = asyncio.create_task(coalescer.insert(docs("gone")))
    kept = asyncio.create_task(coalescer.insert(docs("kept")))
    await queued(coalescer, 2)
    gone.cancel()
    collection.release.set()
    assert await kept == {"kept"}
    assert await first == {"first"}
    assert "gone" not in collection.stored


async def test_a_document_that_cannot_be_encoded_fails_only_its_caller() -> None:
    collection = FakeCollection()
    coalescer = InsertCoalescer(collection)
    first = await held_first_write(collection, coalescer)
    good = asyncio.create_task(coalescer.insert(docs("g")))
    bad = asyncio.create_task(coalescer.insert([{"_id": "b", "unencodable": object()}]))
    other = asyncio.create_task(coalescer.insert(docs("o")))
    await queued(coalescer, 3)
    collection.release.set()
    assert await good == {"g"}
    assert await other == {"o"}
    with pytest.raises(InvalidDocument):
        await bad
    assert await first == {"first"}
    assert set(collection.stored) == {"first", "g", "o"}
