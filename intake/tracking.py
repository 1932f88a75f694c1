"""Tracking numbers HY-YYYYMMDD-NNNNNN from a per-day counter in MongoDB.

FerretDB's `$inc` is not atomic under concurrency (measured: 300 concurrent increments gave
24 distinct values), so the counter advances by inserting blocks: `<prefix>-<day>|<block>` is
inserted once, a duplicate key means another process holds that block, and the numbers of a
block are handed out in memory. Numbers are unique and increase within a process; a restart
skips the rest of its block and the block claimed ahead, so the sequence can have gaps.

As soon as a block is taken the next one is claimed in the background, so under load reports do
not queue behind that insert every `block_size` numbers.
"""

import asyncio
from datetime import date, datetime

from pymongo.errors import PyMongoError

from intake.service import china_day, tracking_number
from intake.store import IntakeStore

MAX_PER_DAY = 999_999


class TrackingNumbers:
    def __init__(self, store: IntakeStore, prefix: str, block_size: int) -> None:
        self._store = store
        self._prefix = prefix
        self._size = block_size
        self._lock = asyncio.Lock()
        self._day: date | None = None
        self._block = -1
        self._next = 0
        self._end = 0  # last number of the block held
        self._ahead: asyncio.Task[int] | None = None  # the next block of `_day`, being claimed

    async def next(self, now: datetime) -> str:
        day = china_day(now)
        async with self._lock:  # awaits the database at most once per block, not per report
            if day != self._day or self._next > self._end:
                await self._advance(day)
            number = self._next
            self._next += 1
            if self._ahead is None:  # one block always in reserve
                self._ahead = asyncio.create_task(self._claim_after(day, self._block))
        return tracking_number(self._prefix, day, number)

    async def _advance(self, day: date) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and day == self._day:
            try:
                block = await ahead
            except PyMongoError:  # claimed ahead in vain: this caller claims again, as before
                block = await self._claim_after(day, self._block)
        elif day == self._day:
            block = await self._claim_after(day, self._block)
        else:
            if ahead is not None:  # claimed for a day that has ended
                ahead.cancel()
                ahead.add_done_callback(lambda task: task.cancelled() or task.exception())
            last = await self._store.last_block(self._key(day))
            block = await self._claim_after(day, -1 if last is None else last)
        self._day, self._block = day, block
        self._next, self._end = block * self._size + 1, (block + 1) * self._size

    async def _claim_after(self, day: date, block: int) -> int:
        """The first block after `block` that this call claimed."""
        key = self._key(day)
        block += 1
        while True:
            if (block + 1) * self._size > MAX_PER_DAY:
                raise RuntimeError(f"tracking numbers of {key} are exhausted")
            if await self._store.claim_block(key, block):
                return block
            last = await self._store.last_block(key)
            block = max(block, -1 if last is None else last) + 1

    def _key(self, day: date) -> str:
        return f"{self._prefix}-{day:%Y%m%d}"
