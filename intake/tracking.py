"""Tracking numbers HY-YYYYMMDD-NNNNNN: one atomic counter per county day in MongoDB, so the
numbers of a day are unique across processes and restarts and follow one another without gaps
(a report refused after taking its number leaves that number unused).

Requests that want a number while this process is already asking the counter wait for that
answer and then take theirs together, with one `$inc` by how many they are: a round trip per
burst instead of one per report, and still no gaps."""

import asyncio
from datetime import datetime

from intake.service import china_day, tracking_number
from intake.store import IntakeStore

MAX_PER_DAY = 999_999


class TrackingNumbers:
    def __init__(self, store: IntakeStore, prefix: str) -> None:
        self._store = store
        self._prefix = prefix
        self._waiting: dict[str, list[asyncio.Future[int]]] = {}
        self._flights: set[asyncio.Task[None]] = set()

    async def next(self, now: datetime) -> str:
        day = china_day(now)
        counter = f"{self._prefix}-{day:%Y%m%d}"
        number = await self._number(counter)
        if number > MAX_PER_DAY:
            raise RuntimeError(f"tracking numbers of {counter} are exhausted")
        return tracking_number(self._prefix, day, number)

    async def _number(self, counter: str) -> int:
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        waiting = self._waiting.get(counter)
        if waiting is not None:  # a flight is out: join the next one
            waiting.append(answer)
            return await answer
        self._waiting[counter] = [answer]
        flight = asyncio.create_task(self._hand_out(counter))
        self._flights.add(flight)
        flight.add_done_callback(self._flights.discard)
        return await answer

    async def _hand_out(self, counter: str) -> None:
        while waiting := self._waiting.get(counter):
            self._waiting[counter] = []
            try:
                last = await self._store.next_number(counter, len(waiting))
            except Exception as error:
                for answer in waiting:
                    if not answer.done():
                        answer.set_exception(error)
            else:
                for offset, answer in enumerate(waiting):
                    if not answer.done():  # its caller gave up: that number stays unused
                        answer.set_result(last - len(waiting) + 1 + offset)
        self._waiting.pop(counter, None)
