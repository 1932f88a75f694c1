"""Finding a unit by what a person types — part of its name (Chinese or English) or of its id —
in a registry of any size: the units API and the consoles' unit pickers ask here, so nobody
scrolls a list of ten thousand units.

The lowercase text searched is built once per set of units and kept while that set is in use:
a Registry is replaced (not changed) whenever its mediators change, but its units stay the
same dict, so the index is keyed by that dict and survives such changes.
"""

from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from itertools import chain
from threading import Lock

from contracts.registry import Registry, Unit

MAX_QUERY = 50
"""The longest text a search takes: no unit's name or id is longer."""
PATH_SEPARATOR = " › "
_DEPTH = {"prefecture": 0, "county": 1, "town": 2, "village": 3, "grid": 4}
_KEPT_INDEXES = 4


@dataclass(frozen=True)
class Hit:
    """A unit found, with the names of the units above it (top first), so a person reads
    where it lies, not its id."""

    unit: Unit
    path: tuple[str, ...]
    path_en: tuple[str, ...]

    def path_text(self, english: bool = False) -> str:
        return PATH_SEPARATOR.join(self.path_en if english else self.path)


@dataclass(frozen=True)
class _Entry:
    unit: Unit
    id: str
    names: tuple[str, ...]
    text: str
    """Id and names in one string: most units are refused by one `in` on it."""
    above: frozenset[str]
    """The unit and every unit above it: `within` is one lookup."""


def _entry(registry: Registry, unit: Unit) -> _Entry:
    unit_id, names = unit.id.casefold(), (unit.name.casefold(), unit.name_en.casefold())
    above = frozenset(registry.ancestors(unit.id))
    return _Entry(unit, unit_id, names, "\n".join((unit_id, *names)), above)


def _order(unit: Unit) -> tuple[int, int, str]:
    """Higher units, then shorter names, first."""
    return _DEPTH.get(unit.kind, len(_DEPTH)), len(unit.name), unit.id


@dataclass(frozen=True)
class Found:
    units: list[Unit]
    """The best-ranked matches from `offset`, at most `limit` of them."""
    total: int
    """How many units match in all."""


_indexes: "OrderedDict[int, tuple[dict[str, Unit], list[_Entry]]]" = OrderedDict()
_lock = Lock()


def _index(registry: Registry) -> list[_Entry]:
    """The registry's units as lowercase text, in the order results are listed within a rank,
    built on first use per units dict (the few latest kept, since a reload replaces them)."""
    key = id(registry.units)
    with _lock:
        cached = _indexes.get(key)
        if cached is not None and cached[0] is registry.units:
            _indexes.move_to_end(key)
            return cached[1]
    ordered = sorted(registry.units.values(), key=_order)
    entries = [_entry(registry, unit) for unit in ordered]
    with _lock:
        _indexes[key] = (registry.units, entries)  # holding the dict keeps its id unique
        while len(_indexes) > _KEPT_INDEXES:
            _indexes.popitem(last=False)
    return entries


def search_units(
    registry: Registry,
    text: str,
    *,
    kinds: Collection[str] | None = None,
    within: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> Found:
    """The units whose id or name contains `text` (case-insensitive), of one of `kinds`, in
    the subtree of `within`: exact matches first, then ids, then names that begin with it,
    then the rest; higher and shorter-named units first within each."""
    query = text.strip().casefold()
    if not query:
        return Found([], 0)
    ranks: tuple[list[Unit], ...] = ([], [], [], [])
    for entry in _index(registry):  # in listing order: each rank's list is sorted as it grows
        if query not in entry.text:
            continue
        if kinds is not None and entry.unit.kind not in kinds:
            continue
        if within is not None and within not in entry.above:
            continue
        rank = _rank(entry, query)
        if rank is not None:
            ranks[rank].append(entry.unit)
    ranked = list(chain.from_iterable(ranks))
    end = None if limit is None else offset + limit
    return Found(ranked[offset:end], len(ranked))


def _rank(entry: _Entry, query: str) -> int | None:
    """0 exact id or name, 1 id prefix, 2 name prefix, 3 id or name holds it; None: neither
    does (the text matched only across two of them)."""
    if entry.id == query or query in entry.names:
        return 0
    if entry.id.startswith(query):
        return 1
    if any(name.startswith(query) for name in entry.names):
        return 2
    if query in entry.id or any(query in name for name in entry.names):
        return 3
    return None


def hit(registry: Registry, unit: Unit) -> Hit:
    """The unit with the names of every unit from the top of the registry down to it."""
    line = [registry.units[uid] for uid in reversed(registry.ancestors(unit.id))]
    return Hit(unit, tuple(u.name for u in line), tuple(u.name_en or u.name for u in line))
