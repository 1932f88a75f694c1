"""In-memory stand-ins for component tests only; integration tests use the real servers."""

import copy
from collections import Counter
from datetime import date, datetime
from typing import Any

from contracts.vocabulary import CaseState
from services.mongo import Document


class InMemoryCaseStore:
    def __init__(self) -> None:
        self.cases: dict[str, Document] = {}
        self.claims: set[str] = set()

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
        due = "due_at" if all("due_at" in case for case in matching) else "acceptance_due_at"
        matching.sort(key=lambda case: (-case["priority_rank"], case[due]))
        return matching[:limit]

    async def get(self, case_id: str) -> Document | None:
        case = self.cases.get(case_id)
        return copy.deepcopy(case) if case is not None else None

    async def claim(self, case_id: str, version: int, now: datetime) -> bool:
        claim_id = f"{case_id}@{version}"
        if claim_id in self.claims:
            return False
        self.claims.add(claim_id)
        return True

    async def apply(
        self,
        case_id: str,
        expected_version: int,
        changes: Document,
        timeline: list[Document],
        outbox: list[Document],
    ) -> bool:
        case = self.cases.get(case_id)
        if case is None or case.get("version", 1) != expected_version:
            return False
        case.update(copy.deepcopy(changes), version=expected_version + 1, outbox=list(outbox))
        case.setdefault("timeline", []).extend(timeline)
        return True

    async def clear_outbox(self, case_id: str, expected_version: int) -> None:
        case = self.cases[case_id]
        if case.get("version", 1) == expected_version:
            case.update(outbox=[], version=expected_version + 1)

    async def due(self, now: datetime, since: datetime | None, limit: int) -> list[Document]:
        found = [
            copy.deepcopy(case)
            for case in self.cases.values()
            if case.get("next_deadline_at") is not None
            and (since or case["next_deadline_at"]) <= case["next_deadline_at"] <= now
        ]
        return found[:limit]

    async def stale_outbox(self, queued_before: datetime, limit: int) -> list[Document]:
        found = [
            {"_id": case["_id"], "outbox": list(case["outbox"]), "version": case["version"]}
            for case in self.cases.values()
            if any(entry["queued_at"] < queued_before for entry in case.get("outbox", []))
        ]
        return found[:limit]


class InMemoryMetricsStore:
    def __init__(self) -> None:
        self.applied: set[str] = set()
        self.counters: dict[str, Document] = {}

    async def mark_applied(self, event_ids: list[str]) -> set[Any]:
        new = set(event_ids) - self.applied
        self.applied |= new
        return new

    async def increment(self, increments: dict[str, Any]) -> None:
        for doc_id, item in increments.items():
            document = self.counters.setdefault(doc_id, {**item.keys, "c": Counter()})
            document["c"].update(item.inc)

    async def documents(
        self, unit: str, start: date | None, end: date | None, children: bool
    ) -> list[Document]:
        def in_period(day: str) -> bool:
            return (start is None or day >= start.isoformat()) and (
                end is None or day <= end.isoformat()
            )

        return [
            doc
            for doc in self.counters.values()
            if doc["dim"] != "backlog"
            and in_period(doc["day"])
            and (
                doc["unit"] == unit or (children and doc["parent"] == unit and doc["dim"] == "all")
            )
        ]

    async def backlog(self) -> dict[str, int]:
        return {
            doc["unit"]: doc["c"]["open"]
            for doc in self.counters.values()
            if doc["dim"] == "backlog"
        }

    async def totals(self) -> dict[str, Counter[str]]:
        result: dict[str, Counter[str]] = {}
        for doc in self.counters.values():
            if doc["dim"] == "all":
                result.setdefault(doc["unit"], Counter()).update(doc["c"])
        return result
