"""MongoDB persistence of the notifier.

- `subscriptions`: few documents, read whole into the in-memory cache.
- `alerts`: the alert log behind the live stream, insert-only, `_id` = alert id (a redelivered
  alert is refused rather than logged twice); streams follow it through a change stream.
- `deliveries`: the delivery ledger, one document per (alert, subscription) whose `_id` is the
  pair, inserted before anything is sent: the insert is the claim, a duplicate key means "this
  subscriber already has (or is being given) this alert". The outcome is then recorded on it.
- `digests`: one document per (subscription, digest window), claimed the same way.
Updates are by `_id`, conditional on the claim's token, and happen once or twice per
delivery: a low-rate path next to the insert that guards it.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bson import Timestamp
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

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

POSITION_PATTERN = r"^[0-9A-Fa-f]{2,4096}$"
"""A change stream's resume token (its `_data`), the `id:` of every streamed alert."""


class CannotResumeError(Exception):
    """The log no longer holds (or never held) the position asked for."""


@dataclass(frozen=True)
class LoggedAlert:
    position: str
    """Where a reader resumes right after this alert."""
    alert: Document


class AlertFeed(Protocol):
    async def next(self) -> LoggedAlert | None:
        """The next alert logged, in commit order; None after a quiet wait."""
        ...

    async def close(self) -> None: ...


class AlertLog(Protocol):
    async def append(self, alerts: list[AlertRaised], now: datetime) -> int:
        """Log alerts not logged before; returns how many were new."""
        ...

    async def follow(self, start: str | datetime, wait_s: float) -> AlertFeed:
        """Alerts logged after the position `start`, or from the moment `start`; a quiet
        feed answers None after `wait_s`. Raises CannotResumeError."""
        ...

    async def recent(self, unit_id: str, limit: int) -> list[Document]:
        """The last `limit` alerts logged about `unit_id` or any unit below it, newest first."""
        ...


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


class MongoAlertLog:
    """The alert log, read through a change stream: its order is the order of commits, so a
    reader never skips an alert that committed late, and its resume token is the position."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._database = database
        self._alerts = database[ALERTS]

    async def append(self, alerts: list[AlertRaised], now: datetime) -> int:
        documents = [
            {"_id": alert.alert_id, "alert": alert.model_dump(mode="json"), "logged_at": now}
            for alert in alerts
        ]
        return len(await insert_new(self._database, ALERTS, documents))

    async def ensure_indexes(self) -> None:
        """Serve `recent`: a subtree is a prefix of unit ids, read newest first."""
        await self._alerts.create_index([("alert.unit_id", ASCENDING), ("logged_at", DESCENDING)])

    async def recent(self, unit_id: str, limit: int) -> list[Document]:
        subtree = {"$regex": f"^{re.escape(unit_id)}(-|$)"}
        cursor = self._alerts.find({"alert.unit_id": subtree}, {"alert": 1})
        logged = (
            await cursor.sort([("logged_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
            .to_list()
        )
        return [document["alert"] for document in logged]

    async def follow(self, start: str | datetime, wait_s: float) -> AlertFeed:
        where: dict[str, Any] = (
            {"resume_after": {"_data": start}}
            if isinstance(start, str)
            else {"start_at_operation_time": Timestamp(int(start.timestamp()), 0)}
        )
        try:
            changes = await self._alerts.watch(
                [{"$match": {"operationType": "insert"}}],
                max_await_time_ms=int(wait_s * 1000),
                **where,
            )
        except OperationFailure as error:
            # The server refused where to start: a token it cannot read, or history it no
            # longer holds (ChangeStreamHistoryLost). Losing the server is not this error.
            raise CannotResumeError(str(error)) from error
        return _ChangeFeed(changes)


class _ChangeFeed:
    def __init__(self, changes: AsyncChangeStream[Document]) -> None:
        self._changes = changes

    async def next(self) -> LoggedAlert | None:
        change = await self._changes.try_next()
        if change is None:
            return None
        return LoggedAlert(change["_id"]["_data"], change["fullDocument"]["alert"])

    async def close(self) -> None:
        await self._changes.close()


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
        """Serve the sweep and the digest flush."""
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
