"""Identifier shapes shared by every API.

Unit ids are hierarchical, like domain names read left to right: `hanyin` (county) →
`hanyin-shuangru` (town) → `hanyin-shuangru-jianghe` (village) → `hanyin-shuangru-jianghe-g03`
(basic grid). A unit's parent is its id without the last segment, so every service can tell
whether a unit lies inside a jurisdiction without a registry lookup.
"""

from typing import Annotated

from pydantic import StringConstraints

UNIT_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+){0,5}$"

UnitId = Annotated[str, StringConstraints(pattern=UNIT_ID_PATTERN, max_length=80)]

COUNTY_UNIT_ID = "hanyin"

MEDIATOR_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+){0,9}$"
"""`med-hanyin-shuangru-jianghe-1`: the subject of the mediator's token."""


def parent_of(unit_id: str) -> str | None:
    head, separator, _ = unit_id.rpartition("-")
    return head if separator else None


def ancestors(unit_id: str) -> list[str]:
    """The unit and every unit above it, nearest first."""
    chain = [unit_id]
    while (parent := parent_of(chain[-1])) is not None:
        chain.append(parent)
    return chain


def is_within(unit_id: str, jurisdiction: str) -> bool:
    return unit_id == jurisdiction or unit_id.startswith(f"{jurisdiction}-")
