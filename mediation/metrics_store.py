"""Metrics read models in MongoDB: applied event ids (inserted, so a redelivered event is seen
as done) and counter documents updated with one summed $inc per document per batch."""

from collections import Counter
from datetime import date
from typing import Any, Protocol

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from mediation.metrics import ALL, BACKLOG, Increment
from services.mongo import MAX_BULK_STATEMENTS, Document, insert_new

APPLIED = "metrics_applied"
COUNTERS = "metrics"


class MetricsStore(Protocol):
    async def mark_applied(self, event_ids: list[str]) -> set[Any]:
        """Record the events as counted; returns those not counted before."""
        ...

    async def increment(self, increments: dict[str, Increment]) -> None: ...

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
        self._counters = database[COUNTERS]

    async def ensure_indexes(self) -> None:
        await self._counters.create_index(
            [("unit", ASCENDING), ("dim", ASCENDING), ("day", ASCENDING)], name="by_unit"
        )
        await self._counters.create_index([("parent", ASCENDING), ("dim", ASCENDING)], name="kids")

    async def mark_applied(self, event_ids: list[str]) -> set[Any]:
        return await insert_new(self._database, APPLIED, [{"_id": i} for i in event_ids])

    async def increment(self, increments: dict[str, Increment]) -> None:
        operations = [
            UpdateOne(
                {"_id": doc_id},
                {
                    "$inc": {f"c.{name}": value for name, value in item.inc.items() if value},
                    "$setOnInsert": item.keys,
                },
                upsert=True,
            )
            for doc_id, item in sorted(increments.items())
            if any(item.inc.values())
        ]
        for start in range(0, len(operations), MAX_BULK_STATEMENTS):
            chunk = operations[start : start + MAX_BULK_STATEMENTS]
            await self._counters.bulk_write(chunk, ordered=False)

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
