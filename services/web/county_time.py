"""The county's clock: every time a person enters or reads in a console is in the county's time
zone (`TIAOJIE_TIME_ZONE`, default Asia/Shanghai), never the browser's or the server's. Stored
times stay UTC; these functions convert at the page's edge. Pure: no I/O."""

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TIME_ZONE = "Asia/Shanghai"
READ_FORMAT = "%Y-%m-%d %H:%M"
INPUT_FORMAT = "%Y-%m-%dT%H:%M"
"""What a `datetime-local` input holds: a wall-clock time without a zone, to the minute."""


class CountyTimeSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    tiaojie_time_zone: str = Field(
        default=DEFAULT_TIME_ZONE,
        description="IANA zone every console shows and reads times in (all consoles share it).",
    )


@cache
def county_zone(name: str | None = None) -> ZoneInfo:
    """The configured zone; an unknown name fails at start-up (ZoneInfoNotFoundError)."""
    return ZoneInfo(name or CountyTimeSettings().tiaojie_time_zone)


def _aware(value: datetime) -> datetime:
    """Stored datetimes are UTC; a driver may hand them back without their zone."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def shown(value: datetime | str | None, zone: ZoneInfo) -> str:
    """A time as people read it: the county's wall clock, to the minute (no microseconds)."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return _aware(moment).astimezone(zone).strftime(READ_FORMAT)


def input_value(value: datetime, zone: ZoneInfo) -> str:
    """The value a `datetime-local` input is pre-filled with: the county's wall clock."""
    return _aware(value).astimezone(zone).strftime(INPUT_FORMAT)


def from_input(text: str, zone: ZoneInfo) -> datetime:
    """A `datetime-local` value read as the county's wall clock, as an aware UTC datetime."""
    wall = datetime.fromisoformat(text)
    if wall.tzinfo is not None:
        return wall.astimezone(UTC)
    return wall.replace(tzinfo=zone).astimezone(UTC)
