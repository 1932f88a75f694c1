"""Tracking numbers HY-YYYYMMDD-NNNNNN: one atomic counter per county day in MongoDB, so the
numbers of a day are unique across processes and restarts and follow one another without gaps
(a report refused after taking its number leaves that number unused)."""

from datetime import datetime

from intake.service import china_day, tracking_number
from intake.store import IntakeStore

MAX_PER_DAY = 999_999


class TrackingNumbers:
    def __init__(self, store: IntakeStore, prefix: str) -> None:
        self._store = store
        self._prefix = prefix

    async def next(self, now: datetime) -> str:
        day = china_day(now)
        counter = f"{self._prefix}-{day:%Y%m%d}"
        number = await self._store.next_number(counter)
        if number > MAX_PER_DAY:
            raise RuntimeError(f"tracking numbers of {counter} are exhausted")
        return tracking_number(self._prefix, day, number)
