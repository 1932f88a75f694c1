"""The operator console: record a call, get the tracking number at once, follow its status."""

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from contracts.ids import UNIT_ID_PATTERN
from contracts.registry import in_force
from contracts.vocabulary import Category, HouseholdColor, PartyKind, RiskFlag
from services.auth import AuthSettings, Principal, Role, console_caller, keep_token, require_role
from services.web.i18n import Translator, pick_language
from services.web.render import Pages
from services.web.switch import switch_router
from services.web.unit_picker import unit_picker_router

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


def create_console(auth: AuthSettings) -> tuple[APIRouter, Pages]:
    pages = Pages(Path(__file__).with_name("templates"), console="operator")
    router = APIRouter(include_in_schema=False)
    router.include_router(switch_router(auth))
    router.include_router(unit_picker_router(auth, in_force))

    @router.get("/", response_class=HTMLResponse)
    async def operator(
        request: Request, caller: Annotated[Principal, console_caller(auth)]
    ) -> HTMLResponse:
        require_role(caller, Role.OPERATOR, Role.ADMIN)
        translate = Translator(pick_language(request))
        page = pages.render(
            request,
            "operator.html",
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
