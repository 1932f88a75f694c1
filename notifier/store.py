"""MongoDB persistence of the notifier.

- `subscriptions`: few documents, read whole into the in-memory cache.
- `alerts`: the alert log behind the live stream, insert-only. `_id` is a time-ordered stream
  id (so `Last-Event-ID` resumes across restarts with a range query) and `alert_id` carries a
  unique index, so a redelivered alert is refused rather than logged twice.
- `deliveries`: the delivery ledger, one document per (alert, subscription) whose `_id` is the
  pair, inserted before anything is sent: the insert is the claim, a duplicate key means "this
  subscriber already has (or is being given) this alert". The outcome is then recorded on it.
- `digests`: one document per (subscription, digest window), claimed the same way.
Updates are by `_id`, conditional on the claim's token, and happen once or twice per
delivery: a low-rate path next to the insert that guards it.
"""

import re
import secrets
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from contracts.events import AlertRaised
from services.mongo import Document, insert_new

SUBSCRIPTIONS = "subscriptions"
ALERTS = "alerts"
DELIVERIES = "deliveries"
DIGESTS = "digests"

SENDING = "sending"
DELIVERED = "delivered"
FAILED = "failed"
CANCELLED = "cancelled"
DIGEST_PENDING = "digest_pending"
DIGESTED = "digested"

STREAM_ID_PATTERN = r"^\d{16}-[0-9a-f]{8}$"


class StreamIds:
    """Time-ordered ids: microseconds since the epoch, then a tag of this process so two
    instances never collide. Strictly increasing within the process even if the clock is not."""

    def __init__(self, tag: str | None = None) -> None:
        self._tag = tag or secrets.token_hex(4)
        self._last = 0

    def next(self, now: datetime) -> str:
        self._last = max(_micros(now), self._last + 1)
        return f"{self._last:016d}-{self._tag}"

    @staticmethod
    def floor(moment: datetime) -> str:
        """Sorts before every id taken at or after `moment`."""
        return f"{_micros(moment):016d}-"

    @staticmethod
    def valid(stream_id: str) -> bool:
        return re.fullmatch(STREAM_ID_PATTERN, stream_id) is not None


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


class SubscriptionStore:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._subscriptions = database[SUBSCRIPTIONS]

    async def add(self, document: Document) -> None:
        await self._subscriptions.insert_one(document)

    async def get(self, subscription_id: str) -> Document | None:
        return await self._subscriptions.find_one({"_id": subscription_id})

    async def all(self) -> list[Document]:
        return await self._subscriptions.find({}).to_list()

    async def delete(self, subscription_id: str) -> bool:
        result = await self._subscriptions.delete_one({"_id": subscription_id})
        return result.deleted_count == 1


class AlertLog:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._database = database
        self._alerts = database[ALERTS]
        self._ids = StreamIds()

    async def ensure_indexes(self) -> None:
        await self._alerts.create_index([("alert_id", ASCENDING)], unique=True, name="alert_id")

    async def append(self, alerts: list[AlertRaised], now: datetime) -> int:
        """Log alerts not logged before; returns how many were new."""
        documents = [
            {
                "_id": self._ids.next(now),
                "alert_id": alert.alert_id,
                "alert": alert.model_dump(mode="json"),
            }
            for alert in alerts
        ]
        return len(await insert_new(self._database, ALERTS, documents))

    async def after(self, cursor: str, horizon: str, limit: int) -> list[Document]:
        """Alerts logged after `cursor` up to `horizon`, oldest first."""
        query = {"_id": {"$gt": cursor, "$lte": horizon}}
        return await self._alerts.find(query).sort("_id", ASCENDING).limit(limit).to_list()


class LeasedJobs:
    """A collection of deliveries that are claimed by insert and then held under a lease."""

    def __init__(self, database: AsyncDatabase[Document], name: str) -> None:
        self._database = database
        self.name = name
        self._jobs = database[name]

    async def claim(self, documents: list[Document]) -> set[Any]:
        return await insert_new(self._database, self.name, documents)

    async def get(self, job_id: str) -> Document | None:
        return await self._jobs.find_one({"_id": job_id})

    async def renew(self, job_id: str, token: str, until: datetime, attempts: int) -> bool:
        """Extend the lease before an attempt; False when another process has taken it over."""
        result = await self._jobs.update_one(
            {"_id": job_id, "token": token, "state": SENDING},
            {"$set": {"lease_until": until, "attempts": attempts}},
        )
        return result.modified_count == 1

    async def finish(self, job_id: str, token: str, state: str, outcome: Document) -> bool:
        result = await self._jobs.update_one(
            {"_id": job_id, "token": token, "state": SENDING},
            {"$set": {"state": state, **outcome}},
        )
        return result.modified_count == 1

    async def expired(self, now: datetime, limit: int) -> list[Document]:
        query = {"state": SENDING, "lease_until": {"$lt": now}}
        return await self._jobs.find(query).limit(limit).to_list()

    async def take_over(self, document: Document, token: str, until: datetime) -> bool:
        """Resume a delivery whose holder stopped renewing (it crashed or was killed)."""
        result = await self._jobs.update_one(
            {"_id": document["_id"], "token": document["token"], "state": SENDING},
            {"$set": {"token": token, "lease_until": until}, "$inc": {"claims": 1}},
        )
        return result.modified_count == 1


class Ledger(LeasedJobs):
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        super().__init__(database, DELIVERIES)

    async def ensure_indexes(self) -> None:
        """Serve the sweep and the digest flush on MongoDB (FerretDB scans either way)."""
        await self._jobs.create_index([("state", ASCENDING), ("lease_until", ASCENDING)])
        await self._jobs.create_index([("state", ASCENDING), ("due_at", ASCENDING)])

    async def due_for_digest(self, now: datetime, limit: int) -> list[Document]:
        query = {"state": DIGEST_PENDING, "due_at": {"$lte": now}}
        return await self._jobs.find(query).limit(limit).to_list()

    async def mark_digested(self, entry_ids: list[str], digest_id: str) -> None:
        if entry_ids:
            await self._jobs.update_many(
                {"_id": {"$in": entry_ids}, "state": DIGEST_PENDING},
                {"$set": {"state": DIGESTED, "digest_id": digest_id}},
            )

    async def postpone(self, entry_ids: list[str], window: int, due_at: datetime) -> None:
        if entry_ids:
            await self._jobs.update_many(
                {"_id": {"$in": entry_ids}, "state": DIGEST_PENDING},
                {"$set": {"window": window, "due_at": due_at}},
            )
