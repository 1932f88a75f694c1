"""Identifier shapes shared by every API.

Unit ids are slugs read left to right (`hanyin` → `hanyin-shuangru` → `hanyin-shuangru-jianghe`
→ `hanyin-shuangru-jianghe-g03`) or national division codes (`433122100201`); which unit lies
inside which is the registry's to say (`Registry.ancestors`, `Registry.is_within`), from its
parent links, never from the id's spelling.
"""

from typing import Annotated

from pydantic import StringConstraints

UNIT_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+){0,5}$"

UnitId = Annotated[str, StringConstraints(pattern=UNIT_ID_PATTERN, max_length=80)]

MEDIATOR_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+){0,9}$"
"""`med-hanyin-shuangru-jianghe-1`: the subject of the mediator's token."""
