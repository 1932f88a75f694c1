"""Periodic work: resume deliveries whose holder died, send due digests, reload subscriptions."""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

import structlog

from notifier import rules
from notifier.delivery import Deliverer, Job, new_token
from notifier.settings import NotifierSettings
from notifier.store import SENDING, LeasedJobs, Ledger
from services.mongo import Document

SWEEP_PAGE = 100
DIGEST_PAGE = 500


class Sweeper:
    def __init__(
        self,
        collections: list[LeasedJobs],
        deliverer: Deliverer,
        settings: NotifierSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self._collections = collections
        self._deliverer = deliverer
        self._settings = settings
        self._clock = clock

    async def sweep(self) -> int:
        """Take over every job whose lease expired; returns how many were resumed."""
        resumed = 0
        for jobs in self._collections:
            for document in await jobs.expired(self._clock(), SWEEP_PAGE):
                token = new_token()
                until = rules.lease_until(self._clock(), self._settings.delivery_lease_s)
                if await jobs.take_over(document, token, until):
                    self._deliverer.start(Job.from_document(jobs, {**document, "token": token}))
                    resumed += 1
        return resumed


class DigestFlusher:
    """Gathers each subscriber's held alerts of a closed window into one digest delivery.

    The digest document, keyed by (subscription, window), is claimed by insert before its
    entries are marked, so a crash in between leaves a digest that says which entries it holds:
    the next flush marks those and moves any others (held after the digest was taken) on to the
    next window. No entry is in two digests; none is left out.
    """

    def __init__(
        self,
        ledger: Ledger,
        digests: LeasedJobs,
        deliverer: Deliverer,
        settings: NotifierSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self._ledger = ledger
        self._digests = digests
        self._deliverer = deliverer
        self._settings = settings
        self._clock = clock

    async def flush(self) -> int:
        now = self._clock()
        groups: dict[tuple[str, int], list[Document]] = defaultdict(list)
        for entry in await self._ledger.due_for_digest(now, DIGEST_PAGE):
            groups[entry["subscription_id"], entry["window"]].append(entry)
        for (subscription_id, window), entries in groups.items():
            await self._flush_one(subscription_id, window, entries, now)
        return len(groups)

    async def _flush_one(
        self, subscription_id: str, window: int, entries: list[Document], now: datetime
    ) -> None:
        entries.sort(key=lambda entry: (entry["claimed_at"], entry["_id"]))
        digest_id = f"{subscription_id}|{window}"
        entry_ids = [entry["_id"] for entry in entries]
        document: Document = {
            "_id": digest_id,
            "subscription_id": subscription_id,
            "window": window,
            "idempotency_key": rules.idempotency_key("d", digest_id),
            "entry_ids": entry_ids,
            "alerts": [entry["alert"] for entry in entries],
            "state": SENDING,
            "token": new_token(),
            "lease_until": rules.lease_until(now, self._settings.delivery_lease_s),
            "claimed_at": now,
            "attempts": 0,
        }
        job = None
        if await self._digests.claim([document]):
            members = set(entry_ids)
            job = Job.from_document(self._digests, document)
        else:
            existing = await self._digests.get(digest_id)
            members = set(existing["entry_ids"]) if existing else set()
        await self._ledger.mark_digested([i for i in entry_ids if i in members], digest_id)
        late = [entry for entry in entries if entry["_id"] not in members]
        if late:
            next_window, due_at = rules.digest_window(now, late[0]["digest_minutes"])
            await self._ledger.postpone([entry["_id"] for entry in late], next_window, due_at)
        if job is not None:
            self._deliverer.start(job)


def periodically(
    tasks: dict[str, tuple[float, Callable[[], Awaitable[object]]]],
    logger: structlog.stdlib.BoundLogger,
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """A lifespan step running each action every interval until the app stops."""

    async def loop(name: str, interval_s: float, action: Callable[[], Awaitable[object]]) -> None:
        while True:
            try:
                await action()
            except Exception as error:
                logger.warning("periodic task failed", task=name, error=repr(error))
            await asyncio.sleep(interval_s)

    @asynccontextmanager
    async def step() -> AsyncIterator[None]:
        running = [
            asyncio.create_task(loop(name, interval, action), name=name)
            for name, (interval, action) in tasks.items()
        ]
        try:
            yield
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    return step
