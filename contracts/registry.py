"""The jurisdiction registry: county → towns → villages → basic grids, their mediation bodies,
mediators and WeChat groups. Data lives in `contracts/data/<county>.json`; this module only
reads it and answers questions about it (no I/O after loading).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Literal

from contracts.vocabulary import Category, Tier

UnitKind = Literal["prefecture", "county", "town", "village", "grid"]
DATA_DIR = Path(__file__).with_name("data")


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
    _mediators_by_unit: dict[str, tuple[Mediator, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _county: Unit | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        """Index once what routing asks for every decision (frozen, hence object.__setattr__)."""
        by_unit: dict[str, list[Mediator]] = {}
        for mediator in self.mediators.values():
            by_unit.setdefault(mediator.unit_id, []).append(mediator)
        indexed = {unit: tuple(sorted(ms, key=lambda m: m.id)) for unit, ms in by_unit.items()}
        object.__setattr__(self, "_mediators_by_unit", indexed)
        county = next((unit for unit in self.units.values() if unit.kind == "county"), None)
        object.__setattr__(self, "_county", county)

    @property
    def county(self) -> Unit:
        if self._county is None:
            raise LookupError("the registry has no county")
        return self._county

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

    def town_of(self, unit_id: str) -> Unit | None:
        return self._of_kind(unit_id, "town")

    def county_of(self, unit_id: str) -> Unit | None:
        """The county a unit lies in (itself, for a county); None for an unknown unit."""
        return self._of_kind(unit_id, "county")

    def mediation_unit(self, place_id: str, tier: Tier) -> Unit:
        """The unit whose mediators take a case at `tier` for a dispute at `place_id`."""
        if tier in (Tier.VILLAGE, Tier.GRID):
            village = self.village_of(place_id)
            if village is not None:
                return village
        if tier in (Tier.VILLAGE, Tier.GRID, Tier.TOWN):
            town = self.town_of(place_id)
            if town is not None:
                return town
        return self.county

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


def _parse(raw: dict[str, object]) -> Registry:
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
    children: dict[str, list[str]] = {}
    for unit in units.values():
        if unit.parent_id is not None:
            children.setdefault(unit.parent_id, []).append(unit.id)
    return Registry(
        version=str(raw["version"]),
        units=units,
        mediators=mediators,
        wechat_groups={str(k): str(v) for k, v in groups_raw.items()},
        children={parent: tuple(sorted(ids)) for parent, ids in children.items()},
    )


def load_registry(path: Path) -> Registry:
    return _parse(json.loads(path.read_text(encoding="utf-8")))


@cache
def hanyin() -> Registry:
    """The Hanyin County sample the product ships with as demo data."""
    return load_registry(DATA_DIR / "hanyin.json")
