"""Which mediators serve a unit: admins change the whole list, every router assigns from the
new list at once (through the config topic), and the change is audited before it is made."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from contracts.admin import MediatorEntry, MediatorsChanged, mediators_key
from contracts.ids import UNIT_ID_PATTERN
from contracts.registry import Registry
from contracts.vocabulary import Category
from router.changes import SharedConfig, admin_caller
from router.models import MediatorIn, MediatorsIn, UnitView, unit_view
from router.readmodel import ReadModels
from router.revisions import IfMatch, expected_revision, propose_audited, with_etag
from services.audit import AuditTrail
from services.auth import AuthSettings, Principal
from services.errors import Refusal, Refused
from services.http import unprocessable

UnitIdPath = Annotated[str, Path(pattern=UNIT_ID_PATTERN, max_length=80)]
MEDIATORS_CHANGE = "unit.mediators.change"


def serving_elsewhere(
    registry: Registry, unit_id: str, mediators: list[MediatorIn]
) -> list[tuple[str, str]]:
    """Moving a mediator takes two changes, so no unit loses one by a typo elsewhere."""
    found = []
    for index, mediator in enumerate(mediators):
        known = registry.mediators.get(mediator.id)
        if known is not None and known.unit_id != unit_id:
            message = f"{mediator.id} serves {known.unit_id}; remove them there first"
            found.append((f"mediators.{index}.id", message))
    return found


def holding_open_cases(
    registry: Registry, unit_id: str, mediators: list[MediatorIn], models: ReadModels
) -> dict[str, list[str]]:
    """Of the mediators the change removes, those still holding open cases, with the cases.
    Read from the open-case read model (fed by the lifecycle topic, reassignments included):
    the router keeps no case data, and mediation announces every change of hands there."""
    kept = {mediator.id for mediator in mediators}
    removed = {m.id for m in registry.mediators_of(unit_id) if m.id not in kept}
    return models.load.open_cases_of(removed) if removed else {}


def _holds_cases(unit_id: str, holding: dict[str, list[str]]) -> Refused:
    case_ids = sorted(case for cases in holding.values() for case in cases)
    mediator_ids = sorted(holding)
    return Refused(
        409,
        Refusal.MEDIATOR_HOLDS_CASES,
        f"{', '.join(mediator_ids)} still hold open cases of {unit_id}: {', '.join(case_ids)}; "
        "a supervisor or the unit's lead reassigns them first",
        unit_id=unit_id,
        mediator_ids=mediator_ids,
        case_ids=case_ids,
    )


def entries_of(registry: Registry, mediators: list[MediatorIn]) -> list[MediatorEntry]:
    entries = []
    for mediator in mediators:
        known = registry.mediators.get(mediator.id)
        if mediator.categories is not None:
            categories = tuple(dict.fromkeys(mediator.categories))
        elif known is not None:
            categories = tuple(sorted(known.categories))
        else:
            categories = tuple(Category)
        entries.append(MediatorEntry(id=mediator.id, name=mediator.name, categories=categories))
    return entries


def create_mediators_router(
    shared: SharedConfig, models: ReadModels, audit: AuditTrail, auth: AuthSettings
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["jurisdiction"])

    @router.put("/units/{unit_id}/mediators", response_model=UnitView)
    async def change_mediators(
        unit_id: UnitIdPath,
        body: MediatorsIn,
        caller: Annotated[Principal, admin_caller(auth, audit, MEDIATORS_CHANGE)],
        if_match: IfMatch = None,
    ) -> JSONResponse:
        """The whole list of the unit's mediators from now on. A mediator who serves another
        unit must be removed there first. With `If-Match`, refused (412) unless the registry
        is still at that revision."""
        registry = shared.jurisdiction.current
        unit = registry.unit(unit_id)
        if unit is None:
            raise Refused(404, Refusal.UNIT_NOT_FOUND, f"no unit {unit_id}", unit_id=unit_id)
        expected = expected_revision(if_match, registry)
        if unit.kind == "grid":
            return unprocessable([("unit_id", "a grid has no mediators; its village's serve it")])
        elsewhere = serving_elsewhere(registry, unit_id, body.mediators)
        if elsewhere:
            return unprocessable(elsewhere)
        still_holding = holding_open_cases(registry, unit_id, body.mediators, models)
        if still_holding:
            raise _holds_cases(unit_id, still_holding)
        entries = entries_of(registry, body.mediators)
        await _change_mediators(shared, audit, caller, unit_id, entries, expected=expected)
        view = unit_view(shared.jurisdiction.current, unit_id, models.load.loads)
        if view is None:  # another change, read right after this one, retired the unit
            raise Refused(404, Refusal.UNIT_NOT_FOUND, f"no unit {unit_id}", unit_id=unit_id)
        return with_etag(view)

    return router


async def _change_mediators(
    shared: SharedConfig,
    audit: AuditTrail,
    caller: Principal,
    unit_id: str,
    entries: list[MediatorEntry],
    *,
    expected: int | None,
) -> None:
    change = MediatorsChanged(
        occurred_at=datetime.now(UTC),
        correlation_id=mediators_key(unit_id),
        actor=caller.subject,
        role=caller.role.value,
        actor_unit_id=caller.unit_id,
        unit_id=unit_id,
        mediators=tuple(entries),
        expected_revision=expected,
    )
    details = {
        "change_id": str(change.event_id),
        "before": [m.id for m in shared.jurisdiction.current.mediators_of(unit_id)],
        "after": [entry.id for entry in entries],
    }
    await propose_audited(shared, audit, caller, change, action=MEDIATORS_CHANGE, details=details)
