"""The report path every channel shares: ids, idempotency, duplicate links, publish, record.

Order of effects for a report with a key (Idempotency-Key header or the channel's own id):
1. reserve the key (insert: a duplicate key means this is a retry → answer from step 3/4);
2. record its match keys (insert) and link the earliest dispute of the duplicate window;
3. store the exact event in the outbox (insert), so a retry re-sends it byte for byte;
4. publish with acks=all; only then insert the dispute (what GET reads) and answer 202.
A failure before 4 answers 503 and leaves nothing anyone can see: the reservation and outbox
entry only let a retry with the same key re-send the same event (same event id, same dispute
id) instead of forking a second dispute, whether or not Kafka had received the first attempt.
A report without a key skips steps 1 and 3; its retry is a new report.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog
from aiokafka.errors import KafkaError
from pymongo.errors import PyMongoError

from contracts.events import Dispute, DisputeReported, Event
from intake.duplicates import window_start
from intake.service import Draft, Identity, reported_event, with_duplicate
from intake.store import IntakeStore
from intake.tracking import TrackingNumbers
from services.mongo import Document

Builder = Callable[[Identity], Draft]


class Publisher(Protocol):
    async def publish(self, event: Event) -> None:
        """Returns once Kafka acknowledged with acks=all."""
        ...


@dataclass(frozen=True)
class Accepted:
    dispute: Dispute
    received_at: datetime


@dataclass(frozen=True)
class Recorded:
    """A channel message that is not a dispute, recorded with the reason."""

    message_id: str
    reason: str


Outcome = Accepted | Recorded


class KeyConflictError(Exception):
    """The key was used before for a different request."""


class NotPublishedError(Exception):
    """Kafka did not acknowledge; nothing the client can see was recorded."""


def dispute_document(event: DisputeReported, private: dict[str, Any]) -> Document:
    dispute = event.dispute
    return {
        "_id": dispute.dispute_id,
        "tracking_number": dispute.tracking_number,
        "received_at": event.occurred_at,
        "dispute": dispute.model_dump(mode="json"),
        "private": private,
    }


class Intake:
    def __init__(
        self,
        *,
        store: IntakeStore,
        publisher: Publisher,
        tracking: TrackingNumbers,
        clock: Callable[[], datetime],
        publish_timeout_s: float,
        duplicate_window_days: int,
        logger: structlog.stdlib.BoundLogger,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._tracking = tracking
        self._clock = clock
        self._timeout_s = publish_timeout_s
        self._window = duplicate_window_days
        self._log = logger
        self._key_locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def submit(
        self,
        build: Builder,
        *,
        key: str | None = None,
        fingerprint: str | None = None,
        not_a_dispute: Recorded | None = None,
    ) -> Outcome:
        """`not_a_dispute` records the key with that answer instead of building a dispute."""
        if key is None:
            if not_a_dispute is not None:
                return not_a_dispute
            return await self._new(await self._identity(), build, keyed=False)
        async with self._serialised(key):
            if not_a_dispute is not None:
                reservation: Document = {
                    "_id": key,
                    "verdict": "not_a_dispute",
                    "message_id": not_a_dispute.message_id,
                    "reason": not_a_dispute.reason,
                    "created_at": self._clock(),
                }
                existing = await self._store.reserve(reservation)
                if existing is None:
                    return not_a_dispute
            else:
                identity = await self._identity()
                existing = await self._store.reserve(_reservation(key, identity, fingerprint))
                if existing is None:
                    return await self._new(identity, build, keyed=True)
            return await self._replay(existing, fingerprint, build)

    @asynccontextmanager
    async def _serialised(self, key: str) -> AsyncIterator[None]:
        """Concurrent requests with one key run one after the other in this process, so the
        second finds the first one's answer instead of sending the event a second time."""
        lock, users = self._key_locks.get(key, (asyncio.Lock(), 0))
        self._key_locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._key_locks[key]
            if users == 1:
                del self._key_locks[key]
            else:
                self._key_locks[key] = (lock, users - 1)

    async def _identity(self) -> Identity:
        now = self._clock()
        return Identity(str(uuid.uuid4()), await self._tracking.next(now), now)

    async def _replay(self, existing: Document, fingerprint: str | None, build: Builder) -> Outcome:
        if fingerprint and existing.get("fingerprint") not in (None, fingerprint):
            raise KeyConflictError("the key was used before for a different request")
        if existing.get("verdict") == "not_a_dispute":
            return Recorded(existing["message_id"], existing["reason"])
        dispute_id = existing["dispute_id"]
        known = await self._store.dispute(dispute_id)
        if known is not None:
            return Accepted(Dispute.model_validate(known["dispute"]), known["received_at"])
        pending = await self._store.outbox(dispute_id)
        if pending is not None:
            event = DisputeReported.model_validate_json(pending["event"])
            self._log.info("re-sending a reported event", dispute_id=dispute_id)
            await self._send(event, pending.get("private", {}))
            return Accepted(event.dispute, event.occurred_at)
        # Reserved, then failed before anything was sent: build it now under the same ids.
        identity = Identity(dispute_id, existing["tracking_number"], existing["received_at"])
        return await self._new(identity, build, keyed=True)

    async def _new(self, identity: Identity, build: Builder, *, keyed: bool) -> Accepted:
        draft = build(identity)
        dispute = await self._link_duplicate(draft.dispute, identity.received_at)
        event = reported_event(dispute, identity.received_at)
        if keyed:
            await self._store.put_outbox(
                {
                    "_id": dispute.dispute_id,
                    "event": event.model_dump_json(),
                    "private": draft.private,
                }
            )
        await self._send(event, draft.private)
        return Accepted(dispute, identity.received_at)

    async def _send(self, event: DisputeReported, private: dict[str, Any]) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._publisher.publish(event)
        except (KafkaError, TimeoutError, OSError) as error:
            raise NotPublishedError(repr(error)) from error
        dispute = event.dispute
        written = await asyncio.gather(
            self._store.add_disputes([dispute_document(event, private)]),
            self._store.add_tracking(dispute.tracking_number, dispute.dispute_id),
            return_exceptions=True,
        )
        for outcome in written:
            if isinstance(outcome, PyMongoError):
                # Kafka has it, so it is accepted; the status consumer records it from CaseRouted.
                self._log.warning(
                    "acknowledged report not recorded locally",
                    dispute_id=dispute.dispute_id,
                    error=repr(outcome),
                )
            elif isinstance(outcome, BaseException):
                raise outcome

    async def _link_duplicate(self, dispute: Dispute, received_at: datetime) -> Dispute:
        """Same hashed party identifier + village + category within the window → link the
        earliest dispute of the window, if it is another one and was acknowledged (a report
        refused before its 202 links nothing until its retry is acknowledged)."""
        keys = sorted(set(dispute.match_keys())) if dispute.village_id else []
        since = window_start(received_at, self._window)
        earliest = await asyncio.gather(
            *(
                self._store.earliest_match(key, dispute.dispute_id, received_at, since)
                for key in keys
            )
        )
        for earlier in dict.fromkeys(earliest):
            if earlier != dispute.dispute_id and await self._store.dispute(earlier) is not None:
                return with_duplicate(dispute, earlier)
        return dispute


def _reservation(key: str, identity: Identity, fingerprint: str | None) -> Document:
    return {
        "_id": key,
        "dispute_id": identity.dispute_id,
        "tracking_number": identity.tracking_number,
        "received_at": identity.received_at,
        "fingerprint": fingerprint,
        "created_at": identity.received_at,
    }
