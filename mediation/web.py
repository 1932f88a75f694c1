"""The mediator desk (queue, case page with only the allowed actions) and the supervisor's
metrics page, rendered by mediation from its own store."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from contracts.ids import UNIT_ID_PATTERN
from contracts.registry import Registry
from contracts.vocabulary import AgreementForm, ReferralTarget, Satisfaction
from mediation import lifecycle as lc
from mediation.metrics import summarise
from mediation.metrics_store import MetricsStore
from mediation.models import OPEN_STATES, QueueItem, case_of, case_view
from mediation.service import unit_lead
from mediation.store import CaseStore
from services.auth import AuthSettings, Principal, Role, console_caller, keep_token, require_read
from services.jurisdiction import Jurisdiction
from services.web.county_time import shown
from services.web.i18n import ZH, Translator, pick_language
from services.web.render import Pages
from services.web.switch import switch_router
from services.web.unit_picker import unit_picker_router


def hours_left(due: datetime, now: datetime) -> float:
    return round((due - now).total_seconds() / 3600, 1)


def bar_chart(rows: list[tuple[str, float | None]], width: int = 320) -> str:
    """A horizontal bar chart of rates in [0, 1] as inline SVG: no script, no library."""
    height = 22 * len(rows) + 4
    bars = []
    for index, (label, value) in enumerate(rows):
        y = 22 * index + 2
        length = int((value or 0) * (width - 150))
        shown = "–" if value is None else f"{value:.1%}"
        bars.append(
            f'<text x="0" y="{y + 14}" font-size="12">{_escape(label)}</text>'
            f'<rect x="110" y="{y + 3}" width="{length}" height="14" fill="#0b5394"></rect>'
            f'<text x="{114 + length}" y="{y + 14}" font-size="12">{shown}</text>'
        )
    return (
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        + "".join(bars)
        + "</svg>"
    )


def kept(auth: AuthSettings, request: Request, page: HTMLResponse) -> HTMLResponse:
    keep_token(auth, request, page)  # a page opened with ?token= keeps it for the pages after
    return page


DONE = frozenset({*lc.MEDIATOR_ACTIONS, "reassign"})
"""Actions whose confirmation the case page shows (`?done=`) after the console did one."""


def _namer(registry: Registry, chinese: bool) -> Any:
    def unit_name(unit_id: str | None) -> str:
        unit = registry.unit(unit_id) if unit_id else None
        if unit is None:
            return unit_id or ""
        return unit.name if chinese else unit.name_en

    return unit_name


UNIT_FACTS = frozenset(
    {"village_id", "grid_id", "place", "party_villages", "towns", "from_unit_id"}
)
"""Routing facts that hold unit ids: a person reads the units' names."""
TIME_FACTS = frozenset({"reported_at", "requested_at"})


def _fact_wording(translate: Translator, unit_name: Any, mediator_name: Any, zone: ZoneInfo) -> Any:
    """A routing fact as a person reads it: units and mediators by name, times on the
    county's clock, the rest as the translation table words it."""

    def fact(name: str, value: Any) -> str:
        if name in UNIT_FACTS and value:
            names = [unit_name(v) for v in value] if isinstance(value, list) else unit_name(value)
            return translate.fact(name, names)
        if name in TIME_FACTS and isinstance(value, str) and value:
            return translate.fact(name, shown(value, zone))
        if name == "mediator_id" and value:
            return translate.fact(name, mediator_name(value))
        if name == "mediator_loads" and isinstance(value, list):
            pairs = (str(item).rpartition("=") for item in value)
            return translate.fact(name, [f"{mediator_name(m)} {n}" for m, _, n in pairs])
        return translate.fact(name, value)

    return fact


def _mediator_namer(jurisdiction: Jurisdiction, *, with_id: bool = True) -> Any:
    """A mediator by name (with their id where two may share a name), as listed now."""

    def mediator_name(mediator_id: str | None) -> str:
        if not mediator_id:
            return ""
        mediator = jurisdiction.current.mediators.get(mediator_id)
        if mediator is None:
            return mediator_id
        return f"{mediator.name}（{mediator_id}）" if with_id else mediator.name

    return mediator_name


def _roles_on(document: dict[str, Any], caller: Principal, jurisdiction: Jurisdiction) -> Any:
    """What the caller is to this case: its holder (acts, opens contacts), a mediator whose
    case it is not, one who may reassign it now."""
    case = case_of(document)
    is_mediator = caller.role is Role.MEDIATOR
    holder = is_mediator and case.mediator_id == caller.subject
    actor = lc.Actor(caller.subject, caller.role.value, caller.unit_id)
    lead = unit_lead(jurisdiction, case.unit_id)
    return {
        "holder": holder,
        "may_act": holder or (is_mediator and case.mediator_id is None),
        "not_yours": is_mediator and case.mediator_id is not None and not holder,
        "may_reassign": lc.reassignable(case) and lc.may_reassign(case, actor, lead),
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def create_console(
    store: CaseStore, metrics: MetricsStore, jurisdiction: Jurisdiction, auth: AuthSettings
) -> tuple[APIRouter, Pages]:
    pages = Pages(Path(__file__).with_name("templates"), console="mediator")
    router = APIRouter(include_in_schema=False)
    router.include_router(switch_router(auth))
    router.include_router(unit_picker_router(auth, lambda: jurisdiction.current))

    @router.get("/", response_class=HTMLResponse)
    async def desk(
        request: Request,
        caller: Annotated[Principal, console_caller(auth)],
        unit: Annotated[str | None, Query(pattern=UNIT_ID_PATTERN)] = None,
        mediator: Annotated[str | None, Query(max_length=80)] = None,
    ) -> HTMLResponse:
        registry = jurisdiction.current  # units and mediators change at run time
        chosen = registry.unit(unit or caller.unit_id) or registry.top
        require_read(caller, chosen.id)
        documents = await store.queue(chosen.id, list(OPEN_STATES), mediator or None, 200)
        now = datetime.now(UTC)
        rows = []
        for document in documents:
            item = QueueItem.model_validate(document)
            due = lc.due_at(item.state, item.acceptance_due_at, item.resolution_due_at)
            rows.append({"hours_left": hours_left(due, now), **item.model_dump()})
        chinese = pick_language(request) == ZH
        return kept(
            auth,
            request,
            pages.render(
                request,
                "desk.html",
                unit=chosen,
                mediators=jurisdiction.current.mediators_of(chosen.id),
                mediator=mediator or "",
                rows=rows,
                mediator_name=_mediator_namer(jurisdiction),
                unit_name=_namer(registry, chinese),
            ),
        )

    @router.get("/cases/{case_id}", response_class=HTMLResponse)
    async def case_page(
        request: Request,
        case_id: str,
        caller: Annotated[Principal, console_caller(auth)],
        mediator: Annotated[str | None, Query(max_length=80)] = None,
        done: Annotated[str | None, Query(max_length=40)] = None,
    ) -> HTMLResponse:
        document = await store.get(case_id)
        if document is None:
            return pages.render(request, "missing.html", status_code=404, case_id=case_id)
        view = case_view(document)
        require_read(caller, view.unit_id)
        # A mediator acts as themselves; others see whom the page would act as.
        acting = caller.subject if caller.role is Role.MEDIATOR else mediator or view.mediator_id
        colleagues = jurisdiction.current.mediators_of(view.unit_id)
        language = pick_language(request)
        registry = jurisdiction.current
        unit_name, mediator_name = _namer(registry, language == ZH), _mediator_namer(jurisdiction)
        plain_name = _mediator_namer(jurisdiction, with_id=False)
        fact = _fact_wording(Translator(language), unit_name, plain_name, pages.zone)
        return kept(
            auth,
            request,
            pages.render(
                request,
                "case.html",
                case=view,
                mediator=acting or "",
                agreements=list(AgreementForm),
                referrals=list(ReferralTarget),
                satisfactions=list(Satisfaction),
                now=datetime.now(UTC),
                done=done if done in DONE else None,
                colleagues=[m for m in colleagues if m.id != view.mediator_id],
                mediator_name=mediator_name,
                unit_name=unit_name,
                fact=fact,
                **_roles_on(document, caller, jurisdiction),
            ),
        )

    @router.get("/supervisor/metrics", response_class=HTMLResponse)
    async def metrics_page(
        request: Request,
        caller: Annotated[Principal, console_caller(auth)],
        unit: Annotated[str | None, Query(pattern=UNIT_ID_PATTERN)] = None,
    ) -> HTMLResponse:
        registry = jurisdiction.current
        chosen = registry.unit(unit or caller.unit_id) or registry.top
        require_read(caller, chosen.id)
        by_unit = summarise(await metrics.documents(chosen.id, None, None, True), chosen.id, "unit")
        by_tier = summarise(
            await metrics.documents(chosen.id, None, None, False), chosen.id, "tier"
        )
        unit_name = _namer(registry, pick_language(request) == ZH)
        children: list[dict[str, Any]] = [
            {**group, "name": unit_name(group["key"])} for group in by_unit["groups"]
        ]
        return kept(
            auth,
            request,
            pages.render(
                request,
                "metrics.html",
                unit=chosen,
                total=by_unit["total"],
                children=children,
                tiers=by_tier["groups"],
                backlog=(await metrics.backlog()).get(chosen.id, 0),
                chart_kept=bar_chart([(c["name"], c["kept_at_origin_rate"]) for c in children]),
                chart_resolution=bar_chart([(c["name"], c["resolution_rate"]) for c in children]),
            ),
        )

    return router, pages
