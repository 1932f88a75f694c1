"""Tracking numbers: HY-YYYYMMDD-NNNNNN, counted per county day, refused past the last one."""

import asyncio
import re
from datetime import UTC, datetime

import pytest

from intake.tracking import MAX_PER_DAY, TrackingNumbers
from tests.fakes import InMemoryIntakeStore

NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


async def test_numbers_follow_one_another_within_the_county_day() -> None:
    numbers = TrackingNumbers(InMemoryIntakeStore(), "HY")
    first = [await numbers.next(NOW) for _ in range(3)]
    assert first == ["HY-20261122-000001", "HY-20261122-000002", "HY-20261122-000003"]
    assert all(re.fullmatch(r"HY-\d{8}-\d{6}", number) for number in first)


async def test_a_new_day_in_china_starts_again_from_one() -> None:
    numbers = TrackingNumbers(InMemoryIntakeStore(), "HY")
    await numbers.next(NOW)
    # 16:00 UTC is midnight in Shanghai: the next county day
    assert await numbers.next(datetime(2026, 11, 22, 16, 0, tzinfo=UTC)) == "HY-20261123-000001"
    assert await numbers.next(NOW) == "HY-20261122-000002"


async def test_a_day_past_its_last_number_is_refused() -> None:
    store = InMemoryIntakeStore()
    store.collections["counters"] = {"HY-20261122": {"_id": "HY-20261122", "seq": MAX_PER_DAY - 1}}
    numbers = TrackingNumbers(store, "HY")
    assert await numbers.next(NOW) == "HY-20261122-999999"
    with pytest.raises(RuntimeError, match="HY-20261122 are exhausted"):
        await numbers.next(NOW)


class CountingStore(InMemoryIntakeStore):
    """Counts trips to the counter, each answered only after the event loop moved on."""

    def __init__(self) -> None:
        super().__init__()
        self.trips: list[int] = []
        self.fail_next = False

    async def next_number(self, counter: str, count: int = 1) -> int:
        self.trips.append(count)
        await asyncio.sleep(0)  # a round trip: others arrive meanwhile
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("database unreachable")
        return await super().next_number(counter, count)


async def test_a_burst_shares_round_trips_and_still_gets_every_number_once() -> None:
    store = CountingStore()
    numbers = TrackingNumbers(store, "HY")
    handed = await asyncio.gather(*(numbers.next(NOW) for _ in range(50)))
    assert sorted(handed) == [f"HY-20261122-{n:06d}" for n in range(1, 51)]
    assert handed == sorted(handed)  # in the order asked
    assert sum(store.trips) == 50
    assert len(store.trips) < 50


async def test_a_failed_trip_fails_only_its_callers_and_leaves_no_gap() -> None:
    store = CountingStore()
    numbers = TrackingNumbers(store, "HY")
    store.fail_next = True
    first = await asyncio.gather(*(numbers.next(NOW) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(outcome, ConnectionError) for outcome in first)
    assert await numbers.next(NOW) == "HY-20261122-000001"
