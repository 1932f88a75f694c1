"""Metrics read models in MongoDB: counter documents, one summed `$inc` per document per batch,
and a mark per counted event (`metrics_applied`, `_id` = event id).

A batch is counted in one multi-document transaction: read which of its events are marked
already, mark the others and add what they bring to the counters. A crash or an abort leaves
nothing of the batch behind, and a redelivered event finds its mark, so each event counts
exactly once. Two batches racing for one mark or counter document meet in a write conflict;
the loser's transaction is retried from the start and then sees the winner's marks.
"""

from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Protocol

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from mediation.metrics import ALL, BACKLOG, DURATIONS, Contribution, Increment, increments_of
from services.mongo import Document

APPLIED = "metrics_applied"
COUNTERS = "metrics"


class MetricsStore(Protocol):
    async def count(self, contributions: Mapping[str, Contribution]) -> set[str]:
        """Add each event's contribution (by event id) to the counters unless it was counted
        before; all or nothing. Returns the events counted now."""
        ...

    async def documents(
        self, unit: str, start: date | None, end: date | None, children: bool
    ) -> list[Document]: ...

    async def backlog(self) -> dict[str, int]: ...

    async def totals(self) -> dict[str, Counter[str]]:
        """All-time counters per unit, for the Prometheus page."""
        ...


class MongoMetricsStore:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._database = database
        self._applied = database[APPLIED]
        self._counters = database[COUNTERS]

    async def ensure_indexes(self) -> None:
        await self._counters.create_index(
            [("unit", ASCENDING), ("dim", ASCENDING), ("day", ASCENDING)], name="by_unit"
        )
        await self._counters.create_index([("parent", ASCENDING), ("dim", ASCENDING)], name="kids")

    async def count(self, contributions: Mapping[str, Contribution]) -> set[str]:
        if not contributions:
            return set()

        async def counting(session: AsyncClientSession) -> set[str]:
            return await self._count(contributions, session)

        # with_transaction retries the whole callback on TransientTransactionError (a write
        # conflict with a concurrent batch), and the commit on an unknown commit result.
        async with self._database.client.start_session() as session:
            return await session.with_transaction(counting)

    async def _count(
        self, contributions: Mapping[str, Contribution], session: AsyncClientSession
    ) -> set[str]:
        ids = list(contributions)
        # A duplicate key would abort the transaction, so the marks already there are read
        # first and only the others inserted.
        marked = self._applied.find({"_id": {"$in": ids}}, {"_id": 1}, session=session)
        counted = {mark["_id"] async for mark in marked}
        new = [event_id for event_id in ids if event_id not in counted]
        if not new:
            return set()
        marks = [{"_id": event_id} for event_id in new]
        await self._applied.insert_many(marks, ordered=False, session=session)
        operations = _updates(increments_of(contributions[event_id] for event_id in new))
        if operations:
            await self._counters.bulk_write(operations, ordered=False, session=session)
        return set(new)

    async def documents(
        self, unit: str, start: date | None, end: date | None, children: bool
    ) -> list[Document]:
        period: Document = {}
        if start is not None:
            period["$gte"] = start.isoformat()
        if end is not None:
            period["$lte"] = end.isoformat()
        own: Document = {"unit": unit, "dim": {"$ne": BACKLOG}}
        kids: Document = {"parent": unit, "dim": ALL}
        if period:
            own["day"] = kids["day"] = period
        found = await self._counters.find(own).to_list()
        if children:
            found += await self._counters.find(kids).to_list()
        return found

    async def backlog(self) -> dict[str, int]:
        cursor = self._counters.find({"dim": BACKLOG})
        return {doc["unit"]: int(doc.get("c", {}).get("open", 0)) async for doc in cursor}

    async def totals(self) -> dict[str, Counter[str]]:
        result: dict[str, Counter[str]] = {}
        async for doc in self._counters.find({"dim": ALL}):
            result.setdefault(doc["unit"], Counter()).update(doc.get("c", {}))
        return result


def _updates(increments: Mapping[str, Increment]) -> list[UpdateOne]:
    """One upsert per counter document: its keys when it is new, its summed increments, and
    the measured durations of its resolutions appended (exact medians need them)."""
    return [
        UpdateOne({"_id": doc_id}, _update(item), upsert=True)
        for doc_id, item in sorted(increments.items())
        if any(item.inc.values())
    ]


def _update(item: Increment) -> Document:
    update: Document = {
        "$inc": {f"c.{name}": value for name, value in item.inc.items() if value},
        "$setOnInsert": item.keys,
    }
    if item.durations:
        update["$push"] = {DURATIONS: {"$each": item.durations}}
    return update
