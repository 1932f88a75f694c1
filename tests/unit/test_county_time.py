"""Times people enter and read are the county's wall clock, whatever the server's zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.web.county_time import county_zone, from_input, input_value, shown

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_china_clock_value_is_stored_as_utc_eight_hours_earlier() -> None:
    assert from_input("2026-12-05T14:38", SHANGHAI) == datetime(2026, 12, 5, 6, 38, tzinfo=UTC)


def test_an_input_with_its_own_offset_keeps_it() -> None:
    assert from_input("2026-12-05T14:38+00:00", SHANGHAI) == datetime(
        2026, 12, 5, 14, 38, tzinfo=UTC
    )


def test_stored_utc_reads_as_the_county_clock_without_microseconds() -> None:
    stored = datetime(2026, 12, 5, 6, 38, 12, 345678, tzinfo=UTC)
    assert shown(stored, SHANGHAI) == "2026-12-05 14:38"
    assert shown(stored.replace(tzinfo=None), SHANGHAI) == "2026-12-05 14:38"
    assert shown(stored.isoformat(), SHANGHAI) == "2026-12-05 14:38"
    assert shown(None, SHANGHAI) == ""


def test_the_pre_filled_input_is_the_county_clock() -> None:
    now = datetime(2026, 12, 5, 19, 9, 30, tzinfo=UTC)
    assert input_value(now, SHANGHAI) == "2026-12-06T03:09"


def test_other_zones_across_daylight_saving() -> None:
    new_york = ZoneInfo("America/New_York")
    assert from_input("2026-07-01T12:00", new_york) == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    assert from_input("2026-12-01T12:00", new_york) == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def test_the_zone_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert county_zone("Asia/Shanghai") == SHANGHAI
    monkeypatch.setenv("TIAOJIE_TIME_ZONE", "Europe/Berlin")
    county_zone.cache_clear()
    try:
        assert county_zone() == ZoneInfo("Europe/Berlin")
    finally:
        county_zone.cache_clear()
