"""Intake's MongoDB, written for MongoDB 7. Writes on the report path are inserts keyed by
`_id` (a duplicate key is the answer to "was this done already?"), the tracking-number counter
is one atomic `$inc` per number, and the duplicate window is a range query on an index."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from services.coalesce import InsertCoalescer
from services.mongo import Document

REQUESTS = "intake_requests"
"""Idempotency keys (header or channel message id) → the answer given, or the dispute reserved."""
OUTBOX = "intake_outbox"
"""The exact event of a keyed report, stored before it is sent so a retry re-sends it."""
DISPUTES = "intake_disputes"
"""Reports Kafka acknowledged (or that came back routed): what GET /v1/disputes reads."""
TRACKING = "intake_tracking"
"""Tracking number → dispute id, written only by this intake when Kafka acknowledged: the
numbers are unique by `_id`, even where other intakes' disputes come back routed."""
COUNTERS = "intake_counters"
"""One counter per county day (`HY-20261122`): the last tracking number handed out."""
MATCHES = "intake_matches"
"""One entry per report and match key, with the report's time: the duplicate window's index."""
STATUS = "intake_status"
"""One entry per downstream event of a case, keyed by case id and event id."""

MATCHES_KEPT_S = 61 * 24 * 3600
"""Match entries expire after the longest duplicate window the settings allow, and a day."""


FILER_FIELDS = ("subject", "role", "unit_id")
"""Who filed a dispute, kept beside it (`private.filer`): a subject is unique only within a role
and a unit."""
FILER_KEYS = [(f"private.filer.{name}", ASCENDING) for name in FILER_FIELDS]


class IntakeStore(Protocol):
    async def reserve(self, request: Document) -> Document | None:
        """Insert; None if new, else the document already holding the key."""
        ...

    async def request(self, key: str) -> Document | None: ...

    async def put_outbox(self, entry: Document) -> None: ...

    async def outbox(self, dispute_id: str) -> Document | None: ...

    async def add_disputes(self, disputes: list[Document]) -> None:
        """Insert those not stored yet; a stored dispute is left as it is."""
        ...

    async def add_tracking(self, tracking_number: str, dispute_id: str) -> None: ...

    async def dispute(self, dispute_id: str) -> Document | None: ...

    async def dispute_by_tracking(self, tracking_number: str) -> Document | None: ...

    async def next_number(self, counter: str, count: int = 1) -> int:
        """Adds `count` to the counter (from 0) and returns its new value, the last of the
        `count` numbers taken: concurrent callers never get the same one."""
        ...

    async def earliest_match(self, key: str, dispute_id: str, at: datetime, since: datetime) -> str:
        """Records that `dispute_id` matched `key` at `at` (once, however often asked) and
        returns the dispute that matched `key` first at or after `since`: itself if no other
        did before it."""
        ...

    async def add_status(self, entries: list[Document]) -> None:
        """Insert those not stored yet (a redelivered event's entry is already there)."""
        ...

    async def status_entries(self, dispute_id: str) -> list[Document]: ...

    async def disputes_by_tracking(self, tracking_numbers: list[str]) -> list[Document]:
        """The recorded disputes of those numbers that have one, in no particular order."""
        ...

    async def recent_disputes(self, page: "RecentPage") -> list[Document]:
        """Disputes received in [page.since, page.until], newest first (ties by id), only those
        after `page.after` (the last one of the previous page) and at most `page.limit`."""
        ...

    async def status_entries_of(self, dispute_ids: list[str]) -> dict[str, list[Document]]:
        """`status_entries` of many disputes in one query; a dispute without any is absent."""
        ...

    async def filed_by(self, filer: dict[str, str], limit: int) -> list[Document]:
        """The disputes this filer (subject, role and unit) reported, newest first (ties by
        id), at most `limit`."""
        ...


@dataclass(frozen=True)
class RecentPage:
    since: datetime
    until: datetime
    categories: tuple[str, ...] = ()
    """Any category when empty."""
    after: tuple[datetime, str] | None = None
    """(received_at, _id) of the last dispute already read."""
    limit: int = 500


def recent_filter(page: RecentPage) -> Document:
    """The query of one page of `recent_disputes`: keyset paging on (received_at, _id)
    descending, so a page costs the same wherever it starts."""
    query: Document = {"received_at": {"$gte": page.since, "$lte": page.until}}
    if page.categories:
        query["dispute.category"] = {"$in": list(page.categories)}
    if page.after is not None:
        at, dispute_id = page.after
        query["$or"] = [
            {"received_at": {"$lt": at}},
            {"received_at": at, "_id": {"$lt": dispute_id}},
        ]
    return query


class MongoIntakeStore:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._db = database
        # Every insert of the report path rides a group commit (services/coalesce.py).
        self._inserts = {
            name: InsertCoalescer(database[name])
            for name in (REQUESTS, OUTBOX, DISPUTES, TRACKING, MATCHES, STATUS)
        }

    async def ensure_indexes(self) -> None:
        await self._db[STATUS].create_index([("dispute_id", ASCENDING)], name="dispute")
        recent = [("received_at", DESCENDING), ("_id", DESCENDING)]
        await self._db[DISPUTES].create_index(recent, name="received")
        await self._db[DISPUTES].create_index([*FILER_KEYS, *recent], name="filer")
        matches = self._db[MATCHES]
        await matches.create_index([("key", ASCENDING), ("at", ASCENDING)], name="key_at")
        await matches.create_index("at", name="expiry", expireAfterSeconds=MATCHES_KEPT_S)

    async def reserve(self, request: Document) -> Document | None:
        if await self._inserts[REQUESTS].insert([request]):
            return None
        return await self.request(request["_id"])

    async def request(self, key: str) -> Document | None:
        return await self._db[REQUESTS].find_one({"_id": key})

    async def put_outbox(self, entry: Document) -> None:
        await self._inserts[OUTBOX].insert([entry])

    async def outbox(self, dispute_id: str) -> Document | None:
        return await self._db[OUTBOX].find_one({"_id": dispute_id})

    async def add_disputes(self, disputes: list[Document]) -> None:
        await self._inserts[DISPUTES].insert(disputes)

    async def dispute(self, dispute_id: str) -> Document | None:
        return await self._db[DISPUTES].find_one({"_id": dispute_id})

    async def add_tracking(self, tracking_number: str, dispute_id: str) -> None:
        await self._inserts[TRACKING].insert([{"_id": tracking_number, "dispute_id": dispute_id}])

    async def dispute_by_tracking(self, tracking_number: str) -> Document | None:
        found = await self._db[TRACKING].find_one({"_id": tracking_number})
        return None if found is None else await self.dispute(found["dispute_id"])

    async def next_number(self, counter: str, count: int = 1) -> int:
        # The server retries an upsert that lost the race to insert the same `_id`.
        found = await self._db[COUNTERS].find_one_and_update(
            {"_id": counter},
            {"$inc": {"seq": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert found is not None  # an upsert returning the document after always has one
        return int(found["seq"])

    async def earliest_match(self, key: str, dispute_id: str, at: datetime, since: datetime) -> str:
        entry = {"_id": f"{key}|{dispute_id}", "key": key, "dispute_id": dispute_id, "at": at}
        await self._inserts[MATCHES].insert([entry])
        first = await self._db[MATCHES].find_one(
            {"key": key, "at": {"$gte": since}}, sort=[("at", ASCENDING), ("_id", ASCENDING)]
        )
        return dispute_id if first is None else str(first["dispute_id"])

    async def add_status(self, entries: list[Document]) -> None:
        await self._inserts[STATUS].insert(entries)

    async def status_entries(self, dispute_id: str) -> list[Document]:
        return await self._db[STATUS].find({"dispute_id": dispute_id}).to_list()

    async def disputes_by_tracking(self, tracking_numbers: list[str]) -> list[Document]:
        found = self._db[TRACKING].find({"_id": {"$in": tracking_numbers}})
        ids = [entry["dispute_id"] async for entry in found]
        return await self._db[DISPUTES].find({"_id": {"$in": ids}}).to_list() if ids else []

    async def recent_disputes(self, page: RecentPage) -> list[Document]:
        order = [("received_at", DESCENDING), ("_id", DESCENDING)]
        found = self._db[DISPUTES].find(recent_filter(page), sort=order, limit=page.limit)
        return await found.to_list()

    async def filed_by(self, filer: dict[str, str], limit: int) -> list[Document]:
        query = {f"private.filer.{name}": filer[name] for name in FILER_FIELDS}
        order = [("received_at", DESCENDING), ("_id", DESCENDING)]
        return await self._db[DISPUTES].find(query, sort=order, limit=limit).to_list()

    async def status_entries_of(self, dispute_ids: list[str]) -> dict[str, list[Document]]:
        by_dispute: dict[str, list[Document]] = {}
        async for entry in self._db[STATUS].find({"dispute_id": {"$in": dispute_ids}}):
            by_dispute.setdefault(entry["dispute_id"], []).append(entry)
        return by_dispute
