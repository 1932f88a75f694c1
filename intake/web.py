"""The operator console: record a call, get the tracking number at once, follow its status."""

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from contracts.ids import UNIT_ID_PATTERN
from contracts.registry import Registry, in_force
from contracts.vocabulary import Category, HouseholdColor, PartyKind, RiskFlag
from services.auth import AuthSettings, Principal, Role, console_caller, keep_token, require_role
from services.web.i18n import Translator, pick_language
from services.web.render import Pages
from services.web.switch import switch_router

STATUSES = (
    "received",
    "routed",
    "assigned",
    "accepted",
    "in_mediation",
    "resolved",
    "failed",
    "escalated",
    "referred",
    "withdrawn",
    "followed_up",
    "return_visit",
    "reopened",
)


@dataclass(frozen=True)
class Place:
    """A unit as the form offers it: its id to send, its name to read."""

    id: str
    name: str


@dataclass(frozen=True)
class Town:
    id: str
    name: str
    villages: list[Place]


def towns_of(registry: Registry, translate: Translator) -> list[Town]:
    """The county's towns and their villages, named in the page's language, for the place
    and each party's village."""
    return [
        Town(
            town.id,
            translate.unit_name(town),
            [
                Place(village.id, translate.unit_name(village))
                for village in registry.children_of(town.id, "village")
            ],
        )
        for town in registry.children_of(registry.top.id, "town")
    ]


def unit_names(registry: Registry, translate: Translator) -> dict[str, str]:
    """Every unit a dispute can be handled by (county, towns, villages), by id: the page shows
    names where the APIs give ids."""
    return {
        unit.id: translate.unit_name(unit)
        for unit in registry.units.values()
        if unit.kind != "grid"
    }


def create_console(auth: AuthSettings) -> tuple[APIRouter, Pages]:
    pages = Pages(Path(__file__).with_name("templates"), console="operator")
    router = APIRouter(include_in_schema=False)
    router.include_router(switch_router(auth))

    @router.get("/", response_class=HTMLResponse)
    async def operator(
        request: Request, caller: Annotated[Principal, console_caller(auth)]
    ) -> HTMLResponse:
        require_role(caller, Role.OPERATOR, Role.ADMIN)
        translate = Translator(pick_language(request))
        registry = in_force()
        page = pages.render(
            request,
            "operator.html",
            county=registry.top,
            towns=[asdict(town) for town in towns_of(registry, translate)],
            unit_labels=unit_names(registry, translate),
            categories=list(Category),
            colors=list(HouseholdColor),
            kinds=list(PartyKind),
            risks=list(RiskFlag),
            status_labels={code: translate(f"state.{code}") for code in STATUSES},
            category_labels={c.value: translate.label("category", c.value) for c in Category},
            risk_labels={r.value: translate.label("risk", r.value) for r in RiskFlag},
        )
        keep_token(auth, request, page)
        return page

    @router.get("/console/units")
    async def units(
        caller: Annotated[Principal, console_caller(auth)],
        parent: Annotated[str, Query(pattern=UNIT_ID_PATTERN, max_length=80)],
        kind: Annotated[Literal["town", "village", "grid"], Query()],
        limit: Annotated[int, Query(ge=1, le=500)] = 500,
    ) -> dict[str, list[dict[str, str]]]:
        """The towns, villages or grids to choose from, for the console's own session (the
        router's units API wants a bearer token, which a signed-in page does not hold)."""
        require_role(caller, Role.OPERATOR, Role.ADMIN)
        found = in_force().children_of(parent, kind)[:limit]
        return {"items": [{"id": u.id, "name": u.name, "name_en": u.name_en} for u in found]}

    return router, pages
