"""Identifier shapes shared by every API: plain lowercase codes, never operators or paths."""

from typing import Annotated

from pydantic import StringConstraints

UNIT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,79}$"

UnitId = Annotated[str, StringConstraints(pattern=UNIT_ID_PATTERN)]
"""A jurisdiction unit: county `hanyin`, town `hanyin-shuangru`, village
`hanyin-shuangru-jianghe`."""

COUNTY_UNIT_ID = "hanyin"
