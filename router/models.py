"""HTTP bodies and views of the router. Bodies forbid unknown fields: a typo is an error."""

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from contracts.events import Dispute, DisputeReported, Party, RoutingStep
from contracts.ids import MEDIATOR_ID_PATTERN, UnitId
from contracts.registry import Mediator, Registry, Unit, UnitKind
from contracts.unit_search import hit
from contracts.vocabulary import (
    Category,
    Channel,
    HouseholdColor,
    PartyKind,
    Priority,
    RiskFlag,
    Tier,
)
from services.errors import FieldProblem


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


UNUSED = "Taken as a hotline report has it; routing does not use it."
PHONE_UNUSED = (
    "Taken as a hotline report has it, not used: a rebound is recognised by the hash intake "
    "makes with its own salt; give `phone_hash` to check for one."
)


class ExplainParty(_Body):
    kind: PartyKind = PartyKind.PERSON
    name: str = Field(default="", max_length=200, description=UNUSED)
    phone: str | None = Field(default=None, max_length=30, description=PHONE_UNUSED)
    village_id: UnitId | None = None
    household_id: str | None = Field(default=None, max_length=200, description=UNUSED)
    household_color: HouseholdColor | None = None
    phone_hash: str | None = Field(
        default=None, max_length=64, description="As intake hashes it, to check for a rebound."
    )

    def as_party(self) -> Party:
        kept = self.model_dump(exclude={"phone", "name"})
        return Party(**kept, name=self.name[:100])


class ExplainCaller(_Body):
    """The hotline caller: taken so a report can be pasted whole; routing does not use it."""

    name: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    is_party: bool = False


class ExplainRequest(_Body):
    """A dispute as a report describes it: the body of `POST /v1/disputes` (intake's
    `HotlineReport`) is taken whole, fields routing does not use included, so a report can be
    pasted to ask where it would go. Nothing is published. Unknown fields are still refused
    (a typo is an error), and so are places the registry does not hold."""

    channel: Channel = Channel.HOTLINE
    category: Category
    description: str = Field(default="", max_length=10_000)
    village_id: UnitId | None = None
    grid_id: UnitId | None = None
    address_text: str | None = Field(default=None, max_length=200)
    parties: list[ExplainParty] = Field(default_factory=list, max_length=50)
    people_involved: int = Field(default=1, ge=1, le=100_000)
    amount_yuan: float = Field(default=0, ge=0, le=1e12)
    risk_flags: list[RiskFlag] = Field(default_factory=list)
    occurred_at: AwareDatetime | None = Field(default=None, description="When it happened.")
    caller: ExplainCaller | None = Field(default=None, description=UNUSED)
    needs_triage: bool | None = Field(
        default=None, description="Defaults to true when neither village nor grid is given."
    )
    reported_at: AwareDatetime | None = Field(
        default=None, description="When the report was made; deadlines run from it (now)."
    )

    def unknown_places(self, registry: Registry) -> list[dict[str, Any]]:
        """Validation errors (pydantic's shape) for each place the registry does not hold,
        or a grid outside the village given: intake refuses those reports, so must this."""
        wanted: list[tuple[tuple[str | int, ...], str | None, UnitKind]] = [
            (("village_id",), self.village_id, "village"),
            (("grid_id",), self.grid_id, "grid"),
            *(
                (("parties", i, "village_id"), p.village_id, "village")
                for i, p in enumerate(self.parties)
            ),
        ]
        errors = [
            _place_error(location, kind)
            for location, unit_id, kind in wanted
            if unit_id and not _is_a(registry.unit(unit_id), kind)
        ]
        if not errors and self.village_id and self.grid_id:
            village = registry.village_of(self.grid_id)
            if village is None or village.id != self.village_id:
                message = f"grid is not in village {self.village_id}"
                ctx = {"village_id": self.village_id}
                errors.append(_error(("grid_id",), FieldProblem.GRID_NOT_IN_VILLAGE, message, ctx))
        return errors

    def as_reported(self) -> DisputeReported:
        dispute_id = f"explain-{uuid.uuid4()}"
        triage = self.needs_triage
        if triage is None:
            triage = self.village_id is None and self.grid_id is None
        dispute = Dispute(
            dispute_id=dispute_id,
            tracking_number="EXPLAIN",
            channel=self.channel,
            category=self.category,
            description=self.description,
            village_id=self.village_id,
            grid_id=self.grid_id,
            address_text=self.address_text,
            parties=tuple(party.as_party() for party in self.parties),
            people_involved=self.people_involved,
            amount_yuan=self.amount_yuan,
            risk_flags=tuple(dict.fromkeys(self.risk_flags)),
            needs_triage=triage,
            incident_at=self.occurred_at,
        )
        return DisputeReported(
            occurred_at=self.reported_at or datetime.now(UTC),
            correlation_id=dispute_id,
            dispute=dispute,
        )


def _is_a(unit: Unit | None, kind: UnitKind) -> bool:
    return unit is not None and unit.kind == kind


def _error(
    location: tuple[str | int, ...], code: FieldProblem, message: str, ctx: dict[str, Any]
) -> dict[str, Any]:
    return {"type": code.value, "loc": ("body", *location), "msg": message, "ctx": ctx}


def _place_error(location: tuple[str | int, ...], kind: UnitKind) -> dict[str, Any]:
    code = FieldProblem.UNKNOWN_VILLAGE if kind == "village" else FieldProblem.UNKNOWN_GRID
    return _error(location, code, f"unknown {kind}", {})


class Explanation(BaseModel):
    tier: Tier
    unit_id: str
    unit_name: str
    mediator_id: str | None
    priority: Priority
    urgent: bool
    acceptance_due_at: datetime
    resolution_due_at: datetime
    rebound_of: str | None
    saturated: bool
    policy_version: str
    trace: list[RoutingStep]


class MediatorView(BaseModel):
    id: str
    name: str
    categories: list[Category]
    open_cases: int

    @classmethod
    def of(cls, mediator: Mediator, open_cases: int) -> "MediatorView":
        return cls(
            id=mediator.id,
            name=mediator.name,
            categories=sorted(mediator.categories),
            open_cases=open_cases,
        )


class UnitSummary(BaseModel):
    id: str
    kind: UnitKind
    name: str
    name_en: str
    parent_id: str | None
    mediation_body: str | None
    lat: float | None
    lon: float | None
    path: str = Field(description="Names from the top of the registry down to the unit.")
    path_en: str = Field(description="The same in English.")

    @classmethod
    def of(cls, unit: Unit, registry: Registry) -> "UnitSummary":
        named = hit(registry, unit)
        paths = {"path": named.path_text(), "path_en": named.path_text(english=True)}
        return cls.model_validate({**vars(unit), **paths})


REVISION = "The registry's revision (also the ETag): send it as `If-Match` to change a unit."


class UnitView(UnitSummary):
    ancestors: list[str]
    children: dict[str, int] = Field(description="How many units of each kind lie directly below.")
    mediators: list[MediatorView]
    revision: int = Field(description=REVISION)


def unit_view(registry: Registry, unit_id: str, loads: Mapping[str, int]) -> UnitView | None:
    unit = registry.unit(unit_id)
    if unit is None:
        return None
    return UnitView(
        **UnitSummary.of(unit, registry).model_dump(),
        ancestors=registry.ancestors(unit_id)[1:],
        children=dict(Counter(child.kind for child in registry.children_of(unit_id))),
        mediators=[MediatorView.of(m, loads.get(m.id, 0)) for m in registry.mediators_of(unit_id)],
        revision=registry.revision,
    )


class UnitPage(BaseModel):
    items: list[UnitSummary]
    total: int
    offset: int
    limit: int
    next_offset: int | None
    revision: int = Field(description=REVISION)


class UnitRetired(BaseModel):
    unit: UnitSummary = Field(description="The unit as it was.")
    mediators: list[str] = Field(description="The mediators who served it, gone with it.")
    revision: int = Field(description=REVISION)


_TEXT = "Checked as a jurisdiction file's cell: at most 100 characters, no control characters."


class UnitIn(_Body):
    """A new unit, as a row of a jurisdiction file describes it."""

    id: UnitId = Field(description="A slug (`hanyin-shuangru`) or a division code.")
    kind: UnitKind
    parent_id: UnitId | None = Field(
        description="The unit it belongs to, of the kind just above; none only for a county or "
        "prefecture at the top."
    )
    name: str = Field(description=_TEXT)
    name_en: str = Field(default="", description=_TEXT)
    mediation_body: str | None = Field(default=None, description=_TEXT)
    lat: float | None = Field(default=None, allow_inf_nan=False)
    lon: float | None = Field(default=None, allow_inf_nan=False)

    def as_unit(self) -> Unit:
        return Unit(**self.model_dump())


class UnitPatch(_Body):
    """What changes of a unit: its names, its place (`parent_id`: a move), or both. Fields
    left out stay as they are."""

    name: str | None = Field(default=None, description=_TEXT)
    name_en: str | None = Field(default=None, description=_TEXT)
    mediation_body: str | None = Field(default=None, description=_TEXT)
    lat: float | None = Field(default=None, allow_inf_nan=False)
    lon: float | None = Field(default=None, allow_inf_nan=False)
    parent_id: UnitId | None = Field(default=None, description="Where the unit moves to.")

    def applied_to(self, unit: Unit) -> Unit:
        return replace(unit, **self.model_dump(include=self.model_fields_set))


class PolicyView(BaseModel):
    version: str = Field(description="Content hash; send it as `If-Match` to change the policy.")
    loaded_at: datetime
    source: str = Field(description="`file`, or `api` once an admin changed the policy.")
    changed_by: str | None = Field(description="Who made the change in force, if not the seed.")
    rejected: str | None = Field(description="Why the newest file was refused, if it was.")
    policy: dict[str, Any] = Field(description="The document, as PUT /v1/policy takes it.")


class MediatorIn(_Body):
    id: str = Field(pattern=MEDIATOR_ID_PATTERN, max_length=80, description="Token subject.")
    name: str = Field(min_length=1, max_length=50)
    categories: list[Category] | None = Field(
        default=None,
        description="Kept for a mediator already known, every category for a new one.",
    )


class MediatorsIn(_Body):
    """The whole list of a unit's mediators from now on."""

    mediators: list[MediatorIn] = Field(min_length=1, max_length=100)

    @field_validator("mediators")
    @classmethod
    def _each_once(cls, mediators: list[MediatorIn]) -> list[MediatorIn]:
        ids = [mediator.id for mediator in mediators]
        twice = sorted({mediator_id for mediator_id in ids if ids.count(mediator_id) > 1})
        if twice:
            raise ValueError(f"mediators listed more than once: {', '.join(twice)}")
        return mediators


KIND_DEPTH: dict[str, int] = {"county": 0, "town": 1, "village": 2, "grid": 3}


def units_below(registry: Registry, parent_id: str, kind: UnitKind | None) -> list[Unit]:
    """Direct children, or every unit of `kind` anywhere below `parent_id` (grids of a town)."""
    if kind is None:
        return registry.children_of(parent_id)
    level = [parent_id]
    found: list[Unit] = []
    while level:
        below = [unit for unit_id in level for unit in registry.children_of(unit_id)]
        found.extend(unit for unit in below if unit.kind == kind)
        level = [unit.id for unit in below if KIND_DEPTH[unit.kind] < KIND_DEPTH[kind]]
    return sorted(found, key=lambda unit: unit.id)
