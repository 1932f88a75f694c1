"""The jurisdiction registry: (prefecture →) county → towns → villages → basic grids, their
mediation bodies, mediators and WeChat groups. Data lives in `contracts/data/` (JSON or CSV, see
`contracts/registry_file.py`); this module reads it and answers questions about it.

The tier ladder is the registry's: a case escalates to the unit its unit belongs to, and the
unit with nothing above it is the top, where escalation only alerts. A county-only registry
stops at the county; one over a prefecture goes one step further.
"""

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Literal

from contracts.registry_file import LADDER, Problem, read_registry_path, unit_problems
from contracts.vocabulary import Category, Tier

UnitKind = Literal["prefecture", "county", "town", "village", "grid"]
DATA_DIR = Path(__file__).with_name("data")
REGISTRY_ENV = "TIAOJIE_REGISTRY"
"""Path of the jurisdiction file a deployment starts with (the Hanyin sample when unset)."""


@dataclass(frozen=True)
class Unit:
    id: str
    kind: UnitKind
    name: str
    name_en: str
    parent_id: str | None
    mediation_body: str | None = None
    """Name of the mediation body of a county, town or village (none for grids)."""
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Mediator:
    id: str
    unit_id: str
    name: str
    categories: frozenset[Category]
    """Categories the mediator handles; every mediator handles `other`."""


@dataclass(frozen=True)
class Registry:
    version: str
    units: dict[str, Unit]
    mediators: dict[str, Mediator]
    wechat_groups: dict[str, str]
    """WeChat group id → village id."""
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)
    revision: int = 0
    """How many jurisdiction changes (imports, mediator lists, unit changes) were taken since
    the deployment's file: the same on every replica, which all read the same config topic."""
    _mediators_by_unit: dict[str, tuple[Mediator, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _top: Unit | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        """Index once what routing asks for every decision (frozen, hence object.__setattr__)."""
        by_unit: dict[str, list[Mediator]] = {}
        for mediator in self.mediators.values():
            by_unit.setdefault(mediator.unit_id, []).append(mediator)
        indexed = {unit: tuple(sorted(ms, key=lambda m: m.id)) for unit, ms in by_unit.items()}
        object.__setattr__(self, "_mediators_by_unit", indexed)
        top = next((unit for unit in self.units.values() if unit.parent_id is None), None)
        object.__setattr__(self, "_top", top)

    @property
    def top(self) -> Unit:
        """The deployment's first top unit (its county, or prefecture): the desk that triages
        reports no place of the registry can be found for."""
        if self._top is None:
            raise LookupError("the registry has no units")
        return self._top

    def unit(self, unit_id: str) -> Unit | None:
        return self.units.get(unit_id)

    def parent_of(self, unit_id: str) -> str | None:
        unit = self.units.get(unit_id)
        return unit.parent_id if unit is not None else None

    def ancestors(self, unit_id: str) -> list[str]:
        """The unit and every unit above it, nearest first, by the registry's parent links
        (ids may be slugs or division codes, which tell nothing of their parents)."""
        chain = [unit_id]
        while (parent := self.parent_of(chain[-1])) is not None:
            chain.append(parent)
        return chain

    def is_within(self, unit_id: str, jurisdiction: str) -> bool:
        """The unit is the jurisdiction or lies below it."""
        return jurisdiction in self.ancestors(unit_id)

    def _of_kind(self, unit_id: str, kind: UnitKind) -> Unit | None:
        for candidate in self.ancestors(unit_id):
            unit = self.units.get(candidate)
            if unit is not None and unit.kind == kind:
                return unit
        return None

    def village_of(self, unit_id: str) -> Unit | None:
        """The village a village or grid id lies in."""
        return self._of_kind(unit_id, "village")

    def county_of(self, unit_id: str) -> Unit | None:
        """The county a unit lies in (itself, for a county); None for an unknown unit."""
        return self._of_kind(unit_id, "county")

    def mediation_unit(self, place_id: str, tier: Tier) -> Unit:
        """The unit whose mediators take a case at `tier` for a dispute at `place_id`: the
        place's unit of that kind, else the nearest above it (a grid's case goes to its
        village; a prefecture asked of a county-only registry is its county)."""
        wanted = LADDER.index("village" if tier is Tier.GRID else tier.value)
        chain = [self.units[u] for u in self.ancestors(place_id) if u in self.units]
        for unit in chain:
            if LADDER.index(unit.kind) <= wanted:
                return unit
        return chain[-1] if chain else self.top

    def above(self, unit_id: str) -> Unit | None:
        """The unit a case held at `unit_id` escalates to; None at the top of the ladder."""
        parent = self.parent_of(unit_id)
        return self.units.get(parent) if parent is not None else None

    def mediators_of(self, unit_id: str) -> list[Mediator]:
        return list(self._mediators_by_unit.get(unit_id, ()))

    def children_of(self, unit_id: str, kind: UnitKind | None = None) -> list[Unit]:
        units = [self.units[child] for child in self.children.get(unit_id, ())]
        return [unit for unit in units if kind is None or unit.kind == kind]

    def with_mediators(self, unit_id: str, mediators: Sequence[Mediator]) -> "Registry":
        """A copy in which exactly `mediators` serve `unit_id`; one who served another unit
        serves only this one now. The registry itself never changes (it is shared)."""
        kept = {key: m for key, m in self.mediators.items() if m.unit_id != unit_id}
        kept.update({m.id: replace(m, unit_id=unit_id) for m in mediators})
        return replace(self, mediators=kept)


class UnitChangeError(ValueError):
    """A unit cannot be added, changed or retired as asked; `problems` name the fields."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def unit_change_problems(
    registry: Registry, unit_id: str, unit: Unit | None, *, adding: bool = False
) -> list[Problem]:
    """Why `unit_id` cannot become `unit` (a new one when `adding`; None retires it): the
    checks a jurisdiction file's rows get, and a tree that stays whole — the deployment's top
    stays where it is, and no unit is left without its parent."""
    existing = registry.unit(unit_id)
    if adding and existing is not None:
        return [Problem(unit_id, "id", f"'{unit_id}' is already a {existing.kind} of the registry")]
    if not adding and existing is None:
        return [Problem(unit_id, "unit_id", f"no unit {unit_id}")]
    if unit is None:
        return _retire_problems(registry, unit_id)
    problems = [] if unit.id == unit_id else [Problem(unit_id, "id", "a unit keeps its id")]
    if existing is not None and existing.kind != unit.kind:
        problems.append(Problem(unit_id, "kind", f"a {existing.kind} stays a {existing.kind}"))
    top_id = registry.top.id if registry.units else None
    if existing is not None and unit_id == top_id and unit.parent_id != existing.parent_id:
        problems.append(Problem(unit_id, "parent_id", "the deployment's top unit stays the top"))
    kinds = {other.id: other.kind for other in registry.units.values()}
    return problems + unit_problems(asdict(unit), kinds)


def _retire_problems(registry: Registry, unit_id: str) -> list[Problem]:
    if registry.units and registry.top.id == unit_id:
        return [Problem(unit_id, "unit_id", "the deployment's top unit cannot be retired")]
    below = registry.children.get(unit_id, ())
    if below:
        listed = ", ".join(below[:20])
        return [Problem(unit_id, "children", f"move or retire its units first: {listed}")]
    return []


def with_unit(
    registry: Registry, unit_id: str, unit: Unit | None, *, adding: bool = False
) -> Registry:
    """A copy in which `unit_id` is `unit` (added when `adding`, renamed or moved otherwise),
    or gone with its mediators and WeChat groups when `unit` is None; UnitChangeError when it
    cannot be (`unit_change_problems`). The registry itself never changes (it is shared)."""
    problems = unit_change_problems(registry, unit_id, unit, adding=adding)
    if problems:
        raise UnitChangeError(problems)
    units = dict(registry.units)  # a changed unit keeps its place: the first top stays first
    if unit is None:
        del units[unit_id]
        return replace(
            registry,
            units=units,
            mediators={k: m for k, m in registry.mediators.items() if m.unit_id != unit_id},
            wechat_groups={g: v for g, v in registry.wechat_groups.items() if v != unit_id},
            children=_children_of(units),
        )
    units[unit_id] = unit
    return replace(registry, units=units, children=_children_of(units))


class RegistryConflictError(ValueError):
    """An imported jurisdiction would take ids another jurisdiction of the registry holds."""


def with_jurisdiction(current: Registry, imported: Registry) -> Registry:
    """`current` with `imported`'s tree in place of the tree under the same top unit, or
    beside the others when that unit is new. A top unit already in the registry keeps its
    parent (a county re-imports its own file inside its prefecture's deployment)."""
    root = imported.top
    existing = current.units.get(root.id)
    if existing is not None and existing.kind != root.kind:
        raise RegistryConflictError(f"{root.id} is a {existing.kind} here, not a {root.kind}")
    replaced = {u for u in current.units if current.is_within(u, root.id)} if existing else set()
    _refuse_clashes(current, imported, replaced)
    placed = replace(root, parent_id=existing.parent_id) if existing else root
    incoming = {**imported.units, root.id: placed}
    units: dict[str, Unit] = {}
    for unit_id, unit in current.units.items():
        if unit_id == root.id:
            units.update(incoming)  # where the old tree stood, so the deployment's top stays
        elif unit_id not in replaced:
            units[unit_id] = unit
    units.update(incoming if existing is None else {})
    mediators = {k: m for k, m in current.mediators.items() if m.unit_id not in replaced}
    groups = {g: v for g, v in current.wechat_groups.items() if v not in replaced}
    return Registry(
        version=f"{current.version}+{imported.version}",
        units=units,
        mediators=mediators | imported.mediators,
        wechat_groups=groups | imported.wechat_groups,
        children=_children_of(units),
    )


def _refuse_clashes(current: Registry, imported: Registry, replaced: set[str]) -> None:
    clashes = {
        "units": [u for u in imported.units if u in current.units and u not in replaced],
        "mediators": [
            m
            for m in imported.mediators
            if m in current.mediators and current.mediators[m].unit_id not in replaced
        ],
        "WeChat groups": [
            g
            for g in imported.wechat_groups
            if g in current.wechat_groups and current.wechat_groups[g] not in replaced
        ],
    }
    found = [f"{what} {', '.join(ids[:5])}" for what, ids in clashes.items() if ids]
    if found:
        raise RegistryConflictError(
            f"already held by another jurisdiction of the registry: {'; '.join(found)}"
        )


def _children_of(units: dict[str, Unit]) -> dict[str, tuple[str, ...]]:
    children: dict[str, list[str]] = {}
    for unit in units.values():
        if unit.parent_id is not None:
            children.setdefault(unit.parent_id, []).append(unit.id)
    return {parent: tuple(sorted(ids)) for parent, ids in children.items()}


def parse_document(raw: dict[str, object]) -> Registry:
    """The registry of a document as `contracts.registry_file` reads one."""
    units_raw = raw["units"]
    mediators_raw = raw["mediators"]
    groups_raw = raw["wechat_groups"]
    assert isinstance(units_raw, list)
    assert isinstance(mediators_raw, list)
    assert isinstance(groups_raw, dict)
    units = {item["id"]: Unit(**item) for item in units_raw}
    mediators = {
        item["id"]: Mediator(
            id=item["id"],
            unit_id=item["unit_id"],
            name=item["name"],
            categories=frozenset(Category(code) for code in item["categories"]),
        )
        for item in mediators_raw
    }
    return Registry(
        version=str(raw["version"]),
        units=units,
        mediators=mediators,
        wechat_groups={str(k): str(v) for k, v in groups_raw.items()},
        children=_children_of(units),
    )


def load_registry(path: Path) -> Registry:
    """A registry file as the project ships it (JSON) or a county prepares it (CSV or JSON),
    checked row by row (`RegistryFileError` names every problem)."""
    return parse_document(read_registry_path(path))


def tier_of(unit: Unit) -> Tier:
    """The tier a unit's mediators work at (a grid has none of its own: its village's)."""
    return Tier.VILLAGE if unit.kind == "grid" else Tier(unit.kind)


@cache
def hanyin() -> Registry:
    """The Hanyin County sample the product ships with as demo data."""
    return parse_document(json.loads((DATA_DIR / "hanyin.json").read_text(encoding="utf-8")))


@cache
def deployment_registry() -> Registry:
    """What this deployment starts with: the file `TIAOJIE_REGISTRY` names, else Hanyin."""
    path = os.environ.get(REGISTRY_ENV)
    return load_registry(Path(path)) if path else hanyin()


_in_force: list[Registry] = []


def in_force() -> Registry:
    """The registry this process works with now: the deployment's, with every change read from
    the config topic since (imports, unit and mediator changes) — see services/jurisdiction."""
    if not _in_force:
        _in_force.append(deployment_registry())
    return _in_force[-1]


def put_in_force(registry: Registry) -> None:
    _in_force[:] = [registry]
