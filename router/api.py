"""Router HTTP endpoints: browse the jurisdiction, explain a decision (the policy and the
mediators of a unit are read and changed in router/admin_api.py)."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.exceptions import RequestValidationError

from contracts.ids import UNIT_ID_PATTERN
from contracts.registry import Registry, Unit, UnitKind
from contracts.unit_search import MAX_QUERY, search_units
from router.models import (
    ExplainRequest,
    Explanation,
    UnitPage,
    UnitSummary,
    UnitView,
    unit_view,
    units_below,
)
from router.readmodel import ReadModels
from router.revisions import etag
from router.rules import decide
from router.watch import PolicyHolder
from services.auth import AuthSettings, bearer
from services.errors import Refusal, Refused
from services.jurisdiction import Jurisdiction

UnitIdPath = Annotated[str, Path(pattern=UNIT_ID_PATTERN, max_length=80)]


def create_router(
    jurisdiction: Jurisdiction,
    policies: PolicyHolder,
    models: ReadModels,
    clock: Callable[[], datetime],
    auth: AuthSettings,
) -> APIRouter:
    """Every role reads the jurisdiction; each call must carry a token."""
    router = APIRouter(prefix="/v1", tags=["router"], dependencies=[bearer(auth)])

    @router.get("/units/{unit_id}", response_model=UnitView)
    async def get_unit(unit_id: UnitIdPath, response: Response) -> UnitView:
        """The unit, its mediators and the registry's `revision` (also the ETag), which a
        change sent with `If-Match` is checked against."""
        view = unit_view(jurisdiction.current, unit_id, models.load.loads)
        if view is None:
            raise Refused(404, Refusal.UNIT_NOT_FOUND, f"no unit {unit_id}", unit_id=unit_id)
        response.headers["ETag"] = etag(view.revision)
        return view

    @router.get("/units", response_model=UnitPage)
    async def list_units(
        *,
        response: Response,
        parent: Annotated[str | None, Query(pattern=UNIT_ID_PATTERN, max_length=80)] = None,
        kind: UnitKind | None = None,
        q: Annotated[str | None, Query(min_length=1, max_length=MAX_QUERY)] = None,
        within: Annotated[str | None, Query(pattern=UNIT_ID_PATTERN, max_length=80)] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> UnitPage:
        """Units below `parent` (direct children, or every unit of `kind` below it), a page
        at a time: a town has hundreds of grids. With `q`, the units whose name (Chinese or
        English) or id contains it instead, best first (exact, then id prefix, then name
        prefix, then the rest; higher units first), in the subtree of `within` (or `parent`)
        and of `kind` if given. Each unit names its path, top first."""
        registry = jurisdiction.current
        response.headers["ETag"] = etag(registry.revision)
        top = within or parent
        if top is not None and registry.unit(top) is None:
            raise Refused(404, Refusal.UNIT_NOT_FOUND, f"no unit {top}", unit_id=top)
        if q is not None:
            kinds = None if kind is None else (kind,)
            found = search_units(registry, q, kinds=kinds, within=top, offset=offset, limit=limit)
            return _page(registry, found.units, found.total, offset, limit)
        parent_id = top or registry.top.id
        below = units_below(registry, parent_id, kind)
        return _page(registry, below[offset : offset + limit], len(below), offset, limit)

    @router.post("/routing/explain", response_model=Explanation)
    async def explain(body: ExplainRequest) -> Explanation:
        """The decision the router would make now, and why, for a dispute as a hotline report
        (`POST /v1/disputes` at intake) describes it: a report pasted whole is taken. Publishes
        nothing, changes no load: the mediator shown is who would be chosen at this moment."""
        registry = jurisdiction.current
        if unknown := body.unknown_places(registry):
            raise RequestValidationError(unknown)
        reported = body.as_reported()
        policy = policies.current
        situation = models.situation(reported.dispute, reported.occurred_at, policy)
        decision = decide(reported, policy, registry, clock(), situation)
        routed = decision.routed
        assert routed is not None
        unit = registry.unit(routed.unit_id)
        return Explanation(
            tier=routed.tier,
            unit_id=routed.unit_id,
            unit_name=unit.name if unit is not None else routed.unit_id,
            mediator_id=routed.mediator_id,
            priority=routed.priority,
            urgent=routed.urgent,
            acceptance_due_at=routed.acceptance_due_at,
            resolution_due_at=routed.resolution_due_at,
            rebound_of=routed.rebound_of,
            saturated=decision.saturated,
            policy_version=policy.version,
            trace=list(routed.trace),
        )

    return router


def _page(registry: Registry, units: list[Unit], total: int, offset: int, limit: int) -> UnitPage:
    following = offset + limit
    return UnitPage(
        items=[UnitSummary.of(unit, registry) for unit in units],
        total=total,
        offset=offset,
        limit=limit,
        next_offset=following if following < total else None,
        revision=registry.revision,
    )
