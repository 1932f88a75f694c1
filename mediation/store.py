"""Case persistence. The hot path only inserts by `_id`; queries serve people, not events."""

from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from contracts.vocabulary import CaseState
from services.mongo import Document, insert_new

CASES = "cases"


class CaseStore(Protocol):
    async def add_new(self, cases: list[Document]) -> set[Any]: ...

    async def queue(
        self, unit_id: str, states: list[CaseState], mediator_id: str | None, limit: int
    ) -> list[Document]: ...

    async def get(self, case_id: str) -> Document | None: ...


class MongoCaseStore:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._cases = database[CASES]
        self._database = database

    async def ensure_indexes(self) -> None:
        await self._cases.create_index(
            [
                ("unit_id", ASCENDING),
                ("state", ASCENDING),
                ("priority_rank", DESCENDING),
                ("acceptance_due_at", ASCENDING),
            ],
            name="queue",
        )

    async def add_new(self, cases: list[Document]) -> set[Any]:
        return await insert_new(self._database, CASES, cases)

    async def queue(
        self, unit_id: str, states: list[CaseState], mediator_id: str | None, limit: int
    ) -> list[Document]:
        query: Document = {"unit_id": unit_id, "state": {"$in": [s.value for s in states]}}
        if mediator_id is not None:
            query["mediator_id"] = mediator_id
        cursor = self._cases.find(query, projection={"dispute": 0, "timeline": 0, "trace": 0})
        cursor = cursor.sort([("priority_rank", DESCENDING), ("acceptance_due_at", ASCENDING)])
        return await cursor.limit(limit).to_list()

    async def get(self, case_id: str) -> Document | None:
        return await self._cases.find_one({"_id": case_id})
