"""Case persistence. New cases are inserts by `_id`; every later change is one single-document
update conditional on the version the writer read, carrying its pending events (the outbox).
A single-document update is atomic, so of two writers that read version v exactly one wins.
"""

from collections import Counter
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from contracts.vocabulary import CaseState
from mediation.lifecycle import OPEN
from mediation.models import QUEUE_PROJECTION
from services.mongo import Document, insert_new

CASES = "cases"


class CaseStore(Protocol):
    async def add_new(self, cases: list[Document]) -> set[Any]: ...

    async def queue(
        self, unit_id: str, states: list[CaseState], mediator_id: str | None, limit: int
    ) -> list[Document]: ...

    async def get(self, case_id: str) -> Document | None: ...

    async def open_by_mediator(self, unit_id: str, states: list[CaseState]) -> dict[str, int]:
        """How many of the unit's cases in `states` each mediator holds (unassigned: "")."""
        ...

    async def chain_case(self, resolved_id: str, report_id: str) -> Document | None:
        """Where another rebound of the dispute resolved in `resolved_id` belongs: the case
        `report_id` already joined (a redelivery), else the newest open case of the chain (the
        resolved case reopened, or an earlier rebound of it); None when the chain is closed."""
        ...

    async def apply(
        self,
        case_id: str,
        expected_version: int,
        changes: Document,
        timeline: list[Document],
        outbox: list[Document],
    ) -> bool:
        """Write a change (replacing the outbox) only if the case is still at
        `expected_version`; False when another writer got there first."""
        ...

    async def clear_outbox(self, case_id: str, expected_version: int) -> None:
        """Empty the outbox once relayed, unless the case has moved on."""
        ...

    async def due(self, now: datetime, since: datetime | None, limit: int) -> list[Document]:
        """Cases whose next deadline has passed (since `since`, when given)."""
        ...

    async def stale_outbox(self, queued_before: datetime, limit: int) -> list[Document]:
        """Cases holding events queued before `queued_before` and still not relayed."""
        ...


class MongoCaseStore:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._cases = database[CASES]
        self._database = database

    async def ensure_indexes(self) -> None:
        queue = [
            ("unit_id", ASCENDING),
            ("state", ASCENDING),
            ("priority_rank", DESCENDING),
            ("due_at", ASCENDING),
        ]
        await self._cases.create_index(queue, name="queue_by_due")
        await self._cases.create_index([("next_deadline_at", ASCENDING)], name="deadlines")
        await self._cases.create_index([("outbox.queued_at", ASCENDING)], name="outbox")
        # Rebound chains: a resolved case's later reports, and the reports that joined a case.
        await self._cases.create_index([("rebound_of", ASCENDING)], name="rebound_chain")
        await self._cases.create_index([("joined_reports", ASCENDING)], name="joined_reports")

    async def add_new(self, cases: list[Document]) -> set[Any]:
        return await insert_new(self._database, CASES, cases)

    async def queue(
        self, unit_id: str, states: list[CaseState], mediator_id: str | None, limit: int
    ) -> list[Document]:
        query: Document = {"unit_id": unit_id, "state": {"$in": [s.value for s in states]}}
        if mediator_id is not None:
            query["mediator_id"] = mediator_id
        cursor = self._cases.find(query, projection=QUEUE_PROJECTION)
        cursor = cursor.sort([("priority_rank", DESCENDING), ("due_at", ASCENDING)])
        return await cursor.limit(limit).to_list()

    async def get(self, case_id: str) -> Document | None:
        return await self._cases.find_one({"_id": case_id})

    async def chain_case(self, resolved_id: str, report_id: str) -> Document | None:
        joined = await self._cases.find_one({"joined_reports": report_id}, projection={"_id": 1})
        if joined is not None:
            return await self.get(joined["_id"])
        chain = {
            "$or": [{"_id": resolved_id}, {"rebound_of": resolved_id}],
            "_id": {"$ne": report_id},
            "state": {"$in": [s.value for s in OPEN]},
        }
        cursor = self._cases.find(chain).sort([("started_at", DESCENDING), ("_id", DESCENDING)])
        found: list[Document] = await cursor.limit(1).to_list()
        return found[0] if found else None

    async def open_by_mediator(self, unit_id: str, states: list[CaseState]) -> dict[str, int]:
        query = {"unit_id": unit_id, "state": {"$in": [s.value for s in states]}}
        held: Counter[str] = Counter()
        async for case in self._cases.find(query, projection={"mediator_id": 1}):
            held[case.get("mediator_id") or ""] += 1
        return dict(held)

    async def apply(
        self,
        case_id: str,
        expected_version: int,
        changes: Document,
        timeline: list[Document],
        outbox: list[Document],
    ) -> bool:
        update: Document = {"$set": {**changes, "outbox": outbox, "version": expected_version + 1}}
        if timeline:
            update["$push"] = {"timeline": {"$each": timeline}}
        result = await self._cases.update_one({"_id": case_id, "version": expected_version}, update)
        return result.matched_count == 1

    async def clear_outbox(self, case_id: str, expected_version: int) -> None:
        await self._cases.update_one(
            {"_id": case_id, "version": expected_version},
            {"$set": {"outbox": [], "version": expected_version + 1}},
        )

    async def due(self, now: datetime, since: datetime | None, limit: int) -> list[Document]:
        window: Document = {"$lte": now} | ({"$gte": since} if since else {})
        cursor = self._cases.find({"next_deadline_at": window}, projection={"outbox": 0})
        return await cursor.sort("next_deadline_at", ASCENDING).limit(limit).to_list()

    async def stale_outbox(self, queued_before: datetime, limit: int) -> list[Document]:
        query = {"outbox.queued_at": {"$lt": queued_before}}
        projection = {"outbox": 1, "version": 1}
        return await self._cases.find(query, projection=projection).limit(limit).to_list()
