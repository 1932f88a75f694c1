"""Who inside the chosen unit takes the case: least open cases, then category fit, then id."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from contracts.registry import Mediator
from contracts.vocabulary import Category


@dataclass(frozen=True)
class Assignment:
    mediator_id: str | None
    loads: tuple[tuple[str, int], ...]
    """Open cases of every mediator of the unit when the choice was made (the inputs)."""
    saturated: bool
    """Every mediator of the unit already holds the maximum of open cases."""

    def loads_as_input(self) -> list[str]:
        return [f"{mediator_id}={load}" for mediator_id, load in self.loads]


def assign(
    mediators: Sequence[Mediator],
    category: Category,
    loads: Mapping[str, int],
    max_open_cases: int,
) -> Assignment:
    """The lightest-loaded mediator; among equals one who handles the category; then by id, so
    the same loads always give the same mediator. A saturated unit still gets the case (it
    stays at its tier): the least-loaded mediator takes it and supervisors are alerted."""
    if not mediators:
        return Assignment(mediator_id=None, loads=(), saturated=False)
    observed = tuple((m.id, loads.get(m.id, 0)) for m in mediators)
    chosen = min(
        mediators,
        key=lambda m: (loads.get(m.id, 0), category not in m.categories, m.id),
    )
    saturated = all(load >= max_open_cases for _, load in observed)
    return Assignment(mediator_id=chosen.id, loads=observed, saturated=saturated)


def loads_from_input(value: object) -> dict[str, int]:
    """The loads a recorded decision saw, read back from its trace (for replays)."""
    if not isinstance(value, list):
        return {}
    pairs = (str(item).rpartition("=") for item in value)
    return {mediator_id: int(load) for mediator_id, _, load in pairs if mediator_id}
