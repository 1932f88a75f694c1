"""Units added, renamed, moved and retired at run time: admins change the jurisdiction as they
change a unit's mediators, through the config topic, so every service takes each change in the
same order and the registry's revision says the same everywhere.

Every check a jurisdiction file's rows get is made here before anything is published, and again
by every replica as it reads the change (`contracts.registry.with_unit`), so a change that
raced another is refused alike everywhere. Nothing is ever left without its parent: a unit is
retired only once no unit lies below it and it holds no open case.
"""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contracts.admin import UnitChanged, UnitEntry, unit_key
from contracts.registry import Registry, Unit, unit_change_problems
from contracts.registry_file import Problem
from router.changes import SharedConfig, admin_caller
from router.mediators_api import UnitIdPath
from router.models import UnitIn, UnitPatch, UnitRetired, UnitSummary, UnitView, unit_view
from router.readmodel import ReadModels
from router.revisions import IfMatch, expected_revision, propose_audited, with_etag
from services.audit import AuditTrail
from services.auth import AuthSettings, Principal
from services.errors import Refusal, Refused
from services.http import unprocessable

UNIT_ADD = "unit.add"
UNIT_CHANGE = "unit.change"
UNIT_RETIRE = "unit.retire"


def _problems(problems: list[Problem]) -> JSONResponse:
    return unprocessable([(problem.field, problem.message) for problem in problems])


def _has_units(registry: Registry, unit_id: str) -> Refused:
    below = list(registry.children.get(unit_id, ()))
    return Refused(
        409,
        Refusal.UNIT_HAS_UNITS,
        f"units still belong to {unit_id}: {', '.join(below[:20])}; move or retire them first",
        unit_id=unit_id,
        unit_ids=below,
    )


def _holds_cases(unit_id: str, case_ids: list[str]) -> Refused:
    return Refused(
        409,
        Refusal.UNIT_HOLDS_CASES,
        f"{unit_id} still holds open cases: {', '.join(case_ids[:20])}; they are closed, "
        "or escalated, first",
        unit_id=unit_id,
        case_ids=case_ids,
    )


class UnitChanges:
    """Publishes one unit's change, audited before it is made and again when it is refused."""

    def __init__(self, shared: SharedConfig, audit: AuditTrail) -> None:
        self.shared = shared
        self.audit = audit

    @property
    def registry(self) -> Registry:
        return self.shared.jurisdiction.current

    async def make(
        self,
        caller: Principal,
        action: Literal["add", "change", "retire"],
        unit_id: str,
        unit: Unit | None,
        expected: int | None,
    ) -> None:
        change = UnitChanged(
            occurred_at=datetime.now(UTC),
            correlation_id=unit_key(unit_id),
            actor=caller.subject,
            role=caller.role.value,
            actor_unit_id=caller.unit_id,
            action=action,
            unit_id=unit_id,
            unit=UnitEntry(**asdict(unit)) if unit is not None else None,
            expected_revision=expected,
        )
        details = self._details(change, unit)
        await propose_audited(
            self.shared, self.audit, caller, change, action=f"unit.{action}", details=details
        )

    def _details(self, change: UnitChanged, unit: Unit | None) -> dict[str, Any]:
        before = self.registry.unit(change.unit_id)
        details: dict[str, Any] = {
            "change_id": str(change.event_id),
            "before": asdict(before) if before is not None else None,
            "after": asdict(unit) if unit is not None else None,
            "expected_revision": change.expected_revision,
        }
        if unit is None:
            details["mediators"] = [m.id for m in self.registry.mediators_of(change.unit_id)]
        return details


def create_units_router(
    shared: SharedConfig, models: ReadModels, audit: AuditTrail, auth: AuthSettings
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["jurisdiction"])
    changes = UnitChanges(shared, audit)

    def answer(unit_id: str, status_code: int = 200) -> JSONResponse:
        view = unit_view(changes.registry, unit_id, models.load.loads)
        if view is None:  # another change, read right after this one, retired it
            raise Refused(404, Refusal.UNIT_NOT_FOUND, f"no unit {unit_id}", unit_id=unit_id)
        return with_etag(view, status_code)

    @router.post("/units", response_model=UnitView, status_code=201)
    async def add_unit(
        body: UnitIn,
        caller: Annotated[Principal, admin_caller(auth, audit, UNIT_ADD)],
        if_match: IfMatch = None,
    ) -> JSONResponse:
        """A new unit below `parent_id` (of the kind just above its own). It has no mediators
        until they are given (`PUT /v1/units/{id}/mediators`); reports are taken for it from
        the moment every service has read the change."""
        registry = changes.registry
        expected = expected_revision(if_match, registry)
        unit = body.as_unit()
        problems = unit_change_problems(registry, unit.id, unit, adding=True)
        if problems:
            return _problems(problems)
        await changes.make(caller, "add", unit.id, unit, expected)
        return answer(unit.id, 201)

    @router.patch("/units/{unit_id}", response_model=UnitView)
    async def change_unit(
        unit_id: UnitIdPath,
        body: UnitPatch,
        caller: Annotated[Principal, admin_caller(auth, audit, UNIT_CHANGE)],
        if_match: IfMatch = None,
    ) -> JSONResponse:
        """Rename the unit, or move it (`parent_id`) to another unit of the kind above; its open
        cases stay with it and escalate along its new parents."""
        registry = changes.registry
        known = registry.unit(unit_id)
        if known is None:
            raise Refused(404, Refusal.UNIT_NOT_FOUND, f"no unit {unit_id}", unit_id=unit_id)
        expected = expected_revision(if_match, registry)
        unit = body.applied_to(known)
        if unit == known:  # nothing to change: no change published, no revision counted
            return answer(unit_id)
        problems = unit_change_problems(registry, unit_id, unit)
        if problems:
            return _problems(problems)
        await changes.make(caller, "change", unit_id, unit, expected)
        return answer(unit_id)

    @router.delete("/units/{unit_id}", response_model=UnitRetired)
    async def retire_unit(
        unit_id: UnitIdPath,
        caller: Annotated[Principal, admin_caller(auth, audit, UNIT_RETIRE)],
        if_match: IfMatch = None,
    ) -> JSONResponse:
        """Retire a unit no unit belongs to any more and no open case is held at; its mediators
        go with it (their tokens count no longer) and reports for it are refused."""
        registry = changes.registry
        known = registry.unit(unit_id)
        if known is None:
            raise Refused(404, Refusal.UNIT_NOT_FOUND, f"no unit {unit_id}", unit_id=unit_id)
        expected = expected_revision(if_match, registry)
        problems = unit_change_problems(registry, unit_id, None)
        if any(problem.field == "children" for problem in problems):
            raise _has_units(registry, unit_id)
        if problems:
            return _problems(problems)
        if open_cases := models.load.open_cases_at(unit_id):
            raise _holds_cases(unit_id, open_cases)
        mediators = [m.id for m in registry.mediators_of(unit_id)]
        await changes.make(caller, "retire", unit_id, None, expected)
        retired = UnitRetired(
            unit=UnitSummary.of(known, registry),
            mediators=mediators,
            revision=changes.registry.revision,
        )
        return with_etag(retired)

    return router
