"""The possible-duplicate window, in the county's days: a report matches the earlier reports of
its match key received on its own day or the `window_days - 1` days before it."""

from datetime import datetime, time, timedelta

from intake.service import CHINA, china_day


def window_start(received_at: datetime, window_days: int) -> datetime:
    """The first instant whose reports a report received at `received_at` may duplicate."""
    first_day = china_day(received_at) - timedelta(days=window_days - 1)
    return datetime.combine(first_day, time(0), tzinfo=CHINA)
