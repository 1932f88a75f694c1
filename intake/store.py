"""Intake's MongoDB. Every write on the report path is an insert keyed by `_id` (a duplicate key
is the answer to "was this done already?"); reads happen only on retries, rare duplicate hits
and people's GETs. FerretDB serves inserts fast and filtered updates slowly (DESIGN.md).

The report path's inserts go through one coalescer per collection: what concurrent reports
insert while a write is in flight goes out as one `insert_many` (services/coalesce.py)."""

from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.coalesce import InsertCoalescer
from services.mongo import Document, insert_new

REQUESTS = "intake_requests"
"""Idempotency keys (header or channel message id) → the answer given, or the dispute reserved."""
OUTBOX = "intake_outbox"
"""The exact event of a keyed report, stored before it is sent so a retry re-sends it."""
DISPUTES = "intake_disputes"
"""Reports Kafka acknowledged (or that came back routed): what GET /v1/disputes reads."""
TRACKING = "intake_tracking"
"""Tracking number → dispute id, written only by this intake when Kafka acknowledged: the
numbers are unique by `_id`, even where other intakes' disputes come back routed."""
CLAIMS = "intake_claims"
"""Match key per day → the first dispute that claimed it, for possible-duplicate links."""
BLOCKS = "intake_tracking_blocks"
"""Per-day blocks of tracking numbers, one insert per block."""
STATUS = "intake_status"
"""One entry per downstream event of a case, keyed by case id and event id."""


class IntakeStore(Protocol):
    async def reserve(self, request: Document) -> Document | None:
        """Insert; None if new, else the document already holding the key."""
        ...

    async def request(self, key: str) -> Document | None: ...

    async def put_outbox(self, entry: Document) -> None: ...

    async def outbox(self, dispute_id: str) -> Document | None: ...

    async def add_disputes(self, disputes: list[Document]) -> None: ...

    async def add_tracking(self, tracking_number: str, dispute_id: str) -> None: ...

    async def dispute(self, dispute_id: str) -> Document | None: ...

    async def dispute_by_tracking(self, tracking_number: str) -> Document | None: ...

    async def claim(self, claims: list[Document]) -> set[Any]:
        """Insert the claims; returns the ids this call inserted."""
        ...

    async def claim_holder(self, claim_id: str) -> Document | None: ...

    async def last_block(self, day: str) -> int | None: ...

    async def claim_block(self, day: str, block: int) -> bool:
        """True if this call claimed block `block` of `day`."""
        ...

    async def add_status(self, entries: list[Document]) -> None: ...

    async def status_entries(self, dispute_id: str) -> list[Document]: ...


class MongoIntakeStore:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._db = database
        self._requests = InsertCoalescer(database[REQUESTS])
        self._outbox = InsertCoalescer(database[OUTBOX])
        self._disputes = InsertCoalescer(database[DISPUTES])
        self._tracking = InsertCoalescer(database[TRACKING])
        self._claims = InsertCoalescer(database[CLAIMS])

    async def ensure_indexes(self) -> None:
        await self._db[STATUS].create_index([("dispute_id", ASCENDING)], name="dispute")
        await self._db[BLOCKS].create_index(
            [("day", ASCENDING), ("block", DESCENDING)], name="day_block"
        )

    async def reserve(self, request: Document) -> Document | None:
        if request["_id"] in await self._requests.insert([request]):
            return None
        return await self.request(request["_id"])

    async def request(self, key: str) -> Document | None:
        return await self._db[REQUESTS].find_one({"_id": key})

    async def put_outbox(self, entry: Document) -> None:
        await self._outbox.insert([entry])

    async def outbox(self, dispute_id: str) -> Document | None:
        return await self._db[OUTBOX].find_one({"_id": dispute_id})

    async def add_disputes(self, disputes: list[Document]) -> None:
        await self._disputes.insert(disputes)

    async def dispute(self, dispute_id: str) -> Document | None:
        return await self._db[DISPUTES].find_one({"_id": dispute_id})

    async def add_tracking(self, tracking_number: str, dispute_id: str) -> None:
        await self._tracking.insert([{"_id": tracking_number, "dispute_id": dispute_id}])

    async def dispute_by_tracking(self, tracking_number: str) -> Document | None:
        found = await self._db[TRACKING].find_one({"_id": tracking_number})
        return None if found is None else await self.dispute(found["dispute_id"])

    async def claim(self, claims: list[Document]) -> set[Any]:
        return await self._claims.insert(claims)

    async def claim_holder(self, claim_id: str) -> Document | None:
        return await self._db[CLAIMS].find_one({"_id": claim_id})

    async def last_block(self, day: str) -> int | None:
        found = await self._db[BLOCKS].find_one({"day": day}, sort=[("block", DESCENDING)])
        return None if found is None else int(found["block"])

    async def claim_block(self, day: str, block: int) -> bool:
        inserted = await insert_new(
            self._db, BLOCKS, [{"_id": f"{day}|{block:06d}", "day": day, "block": block}]
        )
        return bool(inserted)

    async def add_status(self, entries: list[Document]) -> None:
        if entries:
            await insert_new(self._db, STATUS, entries)

    async def status_entries(self, dispute_id: str) -> list[Document]:
        return await self._db[STATUS].find({"dispute_id": dispute_id}).to_list()
