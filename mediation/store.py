"""Case persistence. New cases are inserts by `_id` (the hot path); every later change is one
conditional single-document update that carries its pending events (the outbox).

Who may change version v of a case is settled by inserting the claim `<case>@<v>`: a unique
`_id` lets exactly one writer in. The version filter alone is not enough on FerretDB 1.x,
whose updates read and write back the document, so two writers that both read version v
would both "match" and the last write would win (seen with two deadline sweepers). On
MongoDB the filter would do; the claim costs one insert there.
"""

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from contracts.vocabulary import CaseState
from services.mongo import Document, insert_new

CASES = "cases"
CLAIMS = "case_claims"
CLAIM_TAKEOVER = timedelta(seconds=30)
"""A claim whose writer never wrote (it crashed in between) is taken over after this long."""


class CaseStore(Protocol):
    async def add_new(self, cases: list[Document]) -> set[Any]: ...

    async def queue(
        self, unit_id: str, states: list[CaseState], mediator_id: str | None, limit: int
    ) -> list[Document]: ...

    async def get(self, case_id: str) -> Document | None: ...

    async def open_by_mediator(self, unit_id: str, states: list[CaseState]) -> dict[str, int]:
        """How many of the unit's cases in `states` each mediator holds (unassigned: "")."""
        ...

    async def claim(self, case_id: str, version: int, now: datetime) -> bool:
        """The right to change `version` of the case into the next one; one writer gets it."""
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
        `expected_version`. Callers hold the claim on that version."""
        ...

    async def clear_outbox(self, case_id: str, expected_version: int) -> None:
        """Empty the outbox once relayed (a change of its own: callers hold the claim)."""
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

    async def claim(self, case_id: str, version: int, now: datetime) -> bool:
        claim_id = f"{case_id}@{version}"
        if await insert_new(self._database, CLAIMS, [{"_id": claim_id, "at": now}]):
            return True
        held = await self._database[CLAIMS].find_one({"_id": claim_id})
        if held is None or held["at"] > now - CLAIM_TAKEOVER:
            return False
        case = await self._cases.find_one({"_id": case_id}, projection={"version": 1})
        if case is None or case.get("version") != version:
            return False
        # Abandoned: one taker per takeover window, again settled by a unique insert.
        window = int(now.timestamp() // CLAIM_TAKEOVER.total_seconds())
        takeover = {"_id": f"{claim_id}~{window}", "at": now}
        return bool(await insert_new(self._database, CLAIMS, [takeover]))

    async def add_new(self, cases: list[Document]) -> set[Any]:
        return await insert_new(self._database, CASES, cases)

    async def queue(
        self, unit_id: str, states: list[CaseState], mediator_id: str | None, limit: int
    ) -> list[Document]:
        query: Document = {"unit_id": unit_id, "state": {"$in": [s.value for s in states]}}
        if mediator_id is not None:
            query["mediator_id"] = mediator_id
        projection = {"dispute": 0, "timeline": 0, "trace": 0, "outbox": 0}
        cursor = self._cases.find(query, projection=projection)
        cursor = cursor.sort([("priority_rank", DESCENDING), ("due_at", ASCENDING)])
        return await cursor.limit(limit).to_list()

    async def get(self, case_id: str) -> Document | None:
        return await self._cases.find_one({"_id": case_id})

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
