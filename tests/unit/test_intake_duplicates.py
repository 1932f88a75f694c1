"""The duplicate window counts the county's days: today and the days before it."""

from datetime import UTC, datetime

from intake.duplicates import window_start
from intake.service import CHINA


def test_the_window_opens_at_midnight_in_china_of_its_first_day() -> None:
    # 2026-11-22 01:00 in Shanghai is still 2026-11-21 in UTC
    received = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
    assert window_start(received, 7) == datetime(2026, 11, 16, tzinfo=CHINA)
    assert window_start(received, 1) == datetime(2026, 11, 22, tzinfo=CHINA)


def test_a_report_late_on_the_last_day_of_the_window_is_within_it() -> None:
    first = datetime(2026, 11, 16, 0, 0, tzinfo=CHINA)
    last_day = datetime(2026, 11, 22, 23, 59, tzinfo=CHINA)
    day_after = datetime(2026, 11, 23, 0, 0, tzinfo=CHINA)
    assert window_start(last_day, 7) <= first
    assert window_start(day_after, 7) > first
