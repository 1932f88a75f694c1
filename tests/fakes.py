"""In-memory stand-ins for component tests only; integration tests use the real servers."""

from typing import Any

from contracts.vocabulary import CaseState
from services.mongo import Document


class InMemoryCaseStore:
    def __init__(self) -> None:
        self.cases: dict[str, Document] = {}

    async def add_new(self, cases: list[Document]) -> set[Any]:
        new = {case["_id"] for case in cases if case["_id"] not in self.cases}
        for case in cases:
            self.cases.setdefault(case["_id"], case)
        return new

    async def queue(
        self, unit_id: str, states: list[CaseState], mediator_id: str | None, limit: int
    ) -> list[Document]:
        matching = [
            case
            for case in self.cases.values()
            if case["unit_id"] == unit_id
            and case["state"] in states
            and (mediator_id is None or case["mediator_id"] == mediator_id)
        ]
        matching.sort(key=lambda case: (-case["priority_rank"], case["acceptance_due_at"]))
        return matching[:limit]

    async def get(self, case_id: str) -> Document | None:
        return self.cases.get(case_id)
