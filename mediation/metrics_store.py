"""Metrics read models in MongoDB: counter documents updated with one summed $inc per document
per batch, and what makes each event count exactly once without transactions:

- a journal per batch in progress (what each of its events adds), written first;
- a mark per counted event (`_id` = event id, naming its journal): a redelivered event finds
  its mark and is not counted again;
- a guard on each counter document, `g.<owner>` = the owner's last journal applied to it, so
  finishing an interrupted journal again skips the documents it already reached.
"""

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Protocol

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from mediation.metrics import ALL, BACKLOG, Contribution, Increment
from services.mongo import MAX_BULK_STATEMENTS, Document, insert_new

APPLIED = "metrics_applied"
COUNTERS = "metrics"
JOURNALS = "metrics_journals"
JOURNAL_CLAIMS = "metrics_journal_claims"


@dataclass(frozen=True)
class Journal:
    """One batch being counted: by whom, since when, and what each of its events adds."""

    id: str
    owner: str
    at: datetime
    contributions: dict[str, Contribution]


class MetricsStore(Protocol):
    async def open_journal(self, journal: Journal) -> None:
        """Store the journal; one already there is left as it is."""
        ...

    async def mark_applied(self, journal_id: str, event_ids: list[str]) -> set[str]:
        """Mark the events as counted by the journal; returns those not marked before."""
        ...

    async def marked_by(self, journal_id: str, event_ids: list[str]) -> set[str]:
        """The events whose mark names this journal."""
        ...

    async def increment(self, increments: dict[str, Increment], journal: Journal) -> None:
        """Add the increments to every counter document the journal has not reached yet."""
        ...

    async def close_journal(self, journal_id: str) -> None: ...

    async def stale_journals(self, before: datetime) -> list[Journal]: ...

    async def claim_journal(self, journal_id: str, window: int) -> bool:
        """The right to finish an abandoned journal: one taker per window."""
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
        self._counters = database[COUNTERS]

    async def ensure_indexes(self) -> None:
        await self._counters.create_index(
            [("unit", ASCENDING), ("dim", ASCENDING), ("day", ASCENDING)], name="by_unit"
        )
        await self._counters.create_index([("parent", ASCENDING), ("dim", ASCENDING)], name="kids")

    async def open_journal(self, journal: Journal) -> None:
        await insert_new(self._database, JOURNALS, [_journal_document(journal)])

    async def mark_applied(self, journal_id: str, event_ids: list[str]) -> set[str]:
        marks = [{"_id": i, "journal": journal_id} for i in event_ids]
        return await insert_new(self._database, APPLIED, marks)

    async def marked_by(self, journal_id: str, event_ids: list[str]) -> set[str]:
        marked = set()
        for event_id in event_ids:  # by _id, one at a time: `$in` is a full scan on FerretDB
            mark = await self._database[APPLIED].find_one({"_id": event_id})
            if mark is not None and mark.get("journal") == journal_id:
                marked.add(event_id)
        return marked

    async def increment(self, increments: dict[str, Increment], journal: Journal) -> None:
        # Guarded updates without upsert (a guarded upsert that finds its guard set would try
        # to insert a duplicate). Documents missing on the first pass are created, then the
        # pass runs again: the guards let it skip whatever the first pass reached.
        guard = f"g.{journal.owner}"
        wanted = {d: item for d, item in sorted(increments.items()) if any(item.inc.values())}
        operations = [
            UpdateOne(
                {"_id": doc_id, guard: {"$ne": journal.id}},
                {
                    "$inc": {f"c.{name}": value for name, value in item.inc.items() if value},
                    "$set": {guard: journal.id},
                },
            )
            for doc_id, item in wanted.items()
        ]
        if await self._bulk(operations) == len(operations):
            return
        new = [{"_id": doc_id, **item.keys, "c": {}} for doc_id, item in wanted.items()]
        await insert_new(self._database, COUNTERS, new)
        await self._bulk(operations)

    async def _bulk(self, operations: list[UpdateOne]) -> int:
        matched = 0
        for start in range(0, len(operations), MAX_BULK_STATEMENTS):
            chunk = operations[start : start + MAX_BULK_STATEMENTS]
            matched += (await self._counters.bulk_write(chunk, ordered=False)).matched_count
        return matched

    async def close_journal(self, journal_id: str) -> None:
        await self._database[JOURNALS].delete_one({"_id": journal_id})

    async def stale_journals(self, before: datetime) -> list[Journal]:
        # Only batches in progress are here, so the collection stays small.
        cursor = self._database[JOURNALS].find({"at": {"$lt": before}})
        return [_journal_of(doc) async for doc in cursor]

    async def claim_journal(self, journal_id: str, window: int) -> bool:
        claim = {"_id": f"{journal_id}~{window}"}
        return bool(await insert_new(self._database, JOURNAL_CLAIMS, [claim]))

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


def _journal_document(journal: Journal) -> Document:
    events = [{"event_id": i, **asdict(c)} for i, c in journal.contributions.items()]
    return {"_id": journal.id, "owner": journal.owner, "at": journal.at, "events": events}


def _journal_of(document: Document) -> Journal:
    contributions = {
        event["event_id"]: Contribution(**{k: v for k, v in event.items() if k != "event_id"})
        for event in document["events"]
    }
    return Journal(document["_id"], document["owner"], document["at"], contributions)
