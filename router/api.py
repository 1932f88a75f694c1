"""Router HTTP endpoints: browse the jurisdiction, explain a decision, read the policy."""

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from contracts.ids import UNIT_ID_PATTERN, ancestors
from contracts.registry import Registry, UnitKind
from router.models import (
    ExplainRequest,
    Explanation,
    MediatorView,
    PolicyView,
    UnitPage,
    UnitSummary,
    UnitView,
    units_below,
)
from router.readmodel import ReadModels
from router.rules import decide
from router.watch import PolicyHolder
from services.auth import AuthSettings, bearer
from services.errors import Refusal, Refused

UnitIdPath = Annotated[str, Path(pattern=UNIT_ID_PATTERN, max_length=80)]


def create_router(
    registry: Registry,
    policies: PolicyHolder,
    models: ReadModels,
    clock: Callable[[], datetime],
    auth: AuthSettings,
) -> APIRouter:
    """Every role reads the jurisdiction and the policy; each call must carry a token."""
    router = APIRouter(prefix="/v1", tags=["router"], dependencies=[bearer(auth)])

    @router.get("/units/{unit_id}", response_model=UnitView)
    async def get_unit(unit_id: UnitIdPath) -> UnitView:
        unit = registry.unit(unit_id)
        if unit is None:
            raise Refused(404, Refusal.UNIT_NOT_FOUND, f"no unit {unit_id}", unit_id=unit_id)
        loads = models.load.loads
        return UnitView(
            **UnitSummary.of(unit).model_dump(),
            ancestors=ancestors(unit_id)[1:],
            children=dict(Counter(child.kind for child in registry.children_of(unit_id))),
            mediators=[
                MediatorView.of(m, loads.get(m.id, 0)) for m in registry.mediators_of(unit_id)
            ],
        )

    @router.get("/units", response_model=UnitPage)
    async def list_units(
        parent: Annotated[str | None, Query(pattern=UNIT_ID_PATTERN, max_length=80)] = None,
        kind: UnitKind | None = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> UnitPage:
        """Units below `parent` (direct children, or every unit of `kind` below it), a page
        at a time: a town has hundreds of grids."""
        parent_id = parent or registry.county.id
        if registry.unit(parent_id) is None:
            raise Refused(404, Refusal.UNIT_NOT_FOUND, f"no unit {parent_id}", unit_id=parent_id)
        found = units_below(registry, parent_id, kind)
        page = found[offset : offset + limit]
        following = offset + limit
        return UnitPage(
            items=[UnitSummary.of(unit) for unit in page],
            total=len(found),
            offset=offset,
            limit=limit,
            next_offset=following if following < len(found) else None,
        )

    @router.post("/routing/explain", response_model=Explanation)
    async def explain(body: ExplainRequest) -> Explanation:
        """The decision the router would make now, and why. Publishes nothing, changes no
        load: the mediator shown is who would be chosen at this moment."""
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

    @router.get("/policy", response_model=PolicyView)
    async def policy_in_force() -> PolicyView:
        policy = policies.current
        return PolicyView(
            version=policy.version,
            path=str(policies.path),
            loaded_at=policies.loaded_at,
            rejected=policies.rejected,
            policy=policy.model_dump(mode="json"),
        )

    return router
