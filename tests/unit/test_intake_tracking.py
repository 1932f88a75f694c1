"""Tracking numbers: HY-YYYYMMDD-NNNNNN, counted per county day, refused past the last one."""

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
