"""What the consoles' unit pickers ask their own console for: units found by part of a name or
id as a person types, and the names of the few units a page comes to show. A page never embeds
the registry, which for a prefecture holds tens of thousands of units.

Same-origin endpoints on each console, under its session cookie: the router's units API wants
a bearer token, which a signed-in page does not hold.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query

from contracts.ids import UNIT_ID_PATTERN
from contracts.registry import Registry, Unit, UnitKind
from contracts.unit_search import MAX_QUERY, hit, search_units
from services.auth import AuthSettings, Principal, Role, console_caller, require_read

SEARCH_PATH = "/console/units/search"
NAMED_PATH = "/console/units/named"
MAX_NAMED = 100
"""Ids one call names: a page asks for the units it shows, a screenful at a time."""
SCOPED_ROLES = frozenset({Role.SUPERVISOR, Role.MEDIATOR})
"""Roles whose consoles work on their own subtree only: their pickers offer nothing else."""


def picked(registry: Registry, unit: Unit) -> dict[str, Any]:
    """A unit as a picker shows it: names and path in both languages (the page picks one)."""
    named = hit(registry, unit)
    return {
        "id": unit.id,
        "kind": unit.kind,
        "name": unit.name,
        "name_en": unit.name_en or unit.name,
        "path": named.path_text(),
        "path_en": named.path_text(english=True),
    }


def search_scope(caller: Principal, within: str | None) -> str | None:
    """The subtree a caller's picker searches: a supervisor's or mediator's own unless they
    name one inside it; anyone else's (filers, admins) the whole jurisdiction, as every role
    reads the jurisdiction."""
    if caller.role not in SCOPED_ROLES:
        return within
    if within is None:
        return caller.unit_id
    require_read(caller, within)
    return within


def unit_picker_router(auth: AuthSettings, registry: Callable[[], Registry]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(SEARCH_PATH)
    async def search(
        caller: Annotated[Principal, console_caller(auth)],
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY)],
        kind: Annotated[list[UnitKind] | None, Query()] = None,
        within: Annotated[str | None, Query(pattern=UNIT_ID_PATTERN, max_length=80)] = None,
        limit: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> dict[str, Any]:
        """The units a picker offers for what was typed, best first."""
        current = registry()
        scope = search_scope(caller, within)
        found = search_units(current, q, kinds=kind, within=scope, limit=limit)
        return {"items": [picked(current, unit) for unit in found.units], "total": found.total}

    @router.get(NAMED_PATH, dependencies=[console_caller(auth)])
    async def named(
        unit_id: Annotated[list[str], Query(alias="id", min_length=1, max_length=MAX_NAMED)],
    ) -> dict[str, dict[str, Any]]:
        """The names of the units a page shows (a case's, an alert's), by id; unknown ids are
        left out, and the page shows those as they are."""
        current = registry()
        units = (current.unit(each) for each in unit_id)
        return {unit.id: picked(current, unit) for unit in units if unit is not None}

    return router
