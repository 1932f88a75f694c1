"""The operator console: record a call, get the tracking number at once, follow its status."""

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from contracts.vocabulary import Category, HouseholdColor, PartyKind, RiskFlag
from services.web.i18n import Translator, pick_language
from services.web.render import Pages

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


def create_console() -> tuple[APIRouter, Pages]:
    pages = Pages(Path(__file__).with_name("templates"), console="operator")
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    async def operator(request: Request) -> HTMLResponse:
        translate = Translator(pick_language(request))
        return pages.render(
            request,
            "operator.html",
            categories=list(Category),
            colors=list(HouseholdColor),
            kinds=list(PartyKind),
            risks=list(RiskFlag),
            status_labels={code: translate(f"state.{code}") for code in STATUSES},
            category_labels={c.value: translate.label("category", c.value) for c in Category},
        )

    return router, pages
