"""A jurisdiction file as a county or prefecture prepares it — CSV, one row per unit, or the
JSON the project ships (`contracts/data/hanyin.json`) — read into the registry's document.

Every bad row is named by its line (CSV) or its place in the document (JSON) and the field;
a file with any problem yields no document at all, so nothing is ever half-loaded.

CSV columns (header row required; order free; extra columns refused):
`id, kind, parent_id, name, name_en, mediation_body, lat, lon, wechat_groups, mediators`.
`wechat_groups` is `;`-separated group ids (villages only); `mediators` is `;`-separated
`med-id=姓名` or `med-id=姓名[neighbour,family]` (categories default to all).
Unit ids are slugs (`hanyin-shuangru`) or national administrative-division codes
(统计用区划代码, `610921100201`); a grid may add a suffix (`610921100201-g03`).
"""

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.ids import MEDIATOR_ID_PATTERN, UNIT_ID_PATTERN
from contracts.vocabulary import Category

LADDER = ("prefecture", "county", "town", "village", "grid")
"""Unit kinds from the top down; a unit's parent is of the kind just above its own."""
COLUMNS = (
    "id",
    "kind",
    "parent_id",
    "name",
    "name_en",
    "mediation_body",
    "lat",
    "lon",
    "wechat_groups",
    "mediators",
)
MAX_TEXT = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MEDIATOR = re.compile(r"^(?P<id>[^=]+)=(?P<name>[^\[]+)(?:\[(?P<categories>[^\]]*)\])?$")
ALL_CATEGORIES = [category.value for category in Category]


@dataclass(frozen=True)
class Problem:
    where: str
    """`line 12` of a CSV file, or `units[11]` of a JSON document."""
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}, {self.field}: {self.message}"


class RegistryFileError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems[:20]))
        self.problems = problems


@dataclass
class _Row:
    where: str
    unit: dict[str, Any]
    mediators: list[dict[str, Any]] = field(default_factory=list)
    wechat_groups: list[str] = field(default_factory=list)


def read_registry_file(text: str, *, json_format: bool, version: str) -> dict[str, Any]:
    """The registry document (`version`, `units`, `mediators`, `wechat_groups`) the file
    describes, or RegistryFileError naming every problem."""
    problems: list[Problem] = []
    rows = _json_rows(text, problems) if json_format else _csv_rows(text, problems)
    problems.extend(_problems_of(rows) if rows or not problems else ())
    if problems:  # one problem per field of a row: the first said is the cause
        firsts = {(p.where, p.field): p for p in reversed(problems)}
        raise RegistryFileError([p for p in problems if firsts[(p.where, p.field)] is p])
    return {
        "version": version,
        "units": [row.unit for row in rows],
        "mediators": [m for row in rows for m in row.mediators],
        "wechat_groups": {group: row.unit["id"] for row in rows for group in row.wechat_groups},
    }


def read_registry_path(path: Path) -> dict[str, Any]:
    """The document a file on disk describes (`.json` is JSON, anything else CSV), versioned by
    its name and content hash."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RegistryFileError([Problem(str(path), "file", str(error))]) from error
    return read_registry_bytes(raw, name=path.name)


def read_registry_bytes(raw: bytes, *, name: str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RegistryFileError([Problem(name, "file", f"not UTF-8 text: {error}")]) from error
    version = f"{Path(name).stem}-{hashlib.sha256(raw).hexdigest()[:12]}"
    return read_registry_file(text, json_format=name.endswith(".json"), version=version)


# --- reading -----------------------------------------------------------------------------


def _csv_rows(text: str, problems: list[Problem]) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in ("id", "kind", "parent_id", "name") if name not in header]
    for name in unknown:
        problems.append(Problem("line 1", name, "not a column of a jurisdiction file"))
    for name in missing:
        problems.append(Problem("line 1", name, "required column missing"))
    if problems:
        return []
    rows = []
    for record in reader:
        where = f"line {reader.line_num}"
        if None in record:
            problems.append(Problem(where, "row", "more cells than the header has columns"))
            continue
        values = {key: (value or "").strip() for key, value in record.items()}
        rows.append(_row_of_cells(where, values, problems))
    return rows


def _row_of_cells(where: str, values: Mapping[str, str], problems: list[Problem]) -> _Row:
    unit: dict[str, Any] = {
        "id": values["id"],
        "kind": values["kind"],
        "parent_id": values["parent_id"] or None,
        "name": values["name"],
        "name_en": values.get("name_en", ""),
        "mediation_body": values.get("mediation_body") or None,
        "lat": _number(where, "lat", values.get("lat", ""), problems),
        "lon": _number(where, "lon", values.get("lon", ""), problems),
    }
    mediators = [
        _mediator_of_cell(where, cell, unit["id"], problems)
        for cell in _split(values.get("mediators", ""))
    ]
    groups = _split(values.get("wechat_groups", ""))
    return _Row(where, unit, [m for m in mediators if m is not None], groups)


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _number(where: str, name: str, cell: str, problems: list[Problem]) -> float | None:
    if not cell:
        return None
    try:
        return float(cell)
    except ValueError:
        problems.append(Problem(where, name, f"'{cell}' is not a number"))
        return None


def _mediator_of_cell(
    where: str, cell: str, unit_id: str, problems: list[Problem]
) -> dict[str, Any] | None:
    found = _MEDIATOR.match(cell)
    if found is None:
        message = f"'{cell}' is not `med-id=姓名` or `med-id=姓名[category,...]`"
        problems.append(Problem(where, "mediators", message))
        return None
    listed = found["categories"]
    categories = [c.strip() for c in listed.split(",") if c.strip()] if listed else ALL_CATEGORIES
    return {
        "id": found["id"].strip(),
        "unit_id": unit_id,
        "name": found["name"].strip(),
        "categories": categories,
    }


def _json_rows(text: str, problems: list[Problem]) -> list[_Row]:
    try:
        document = json.loads(text)
    except ValueError as error:
        problems.append(Problem("document", "body", f"not JSON: {error}"))
        return []
    if not isinstance(document, dict) or not isinstance(document.get("units"), list):
        problems.append(Problem("document", "units", "a list of units is required"))
        return []
    rows = []
    for index, unit in enumerate(document["units"]):
        where = f"units[{index}]"
        if not isinstance(unit, dict):
            problems.append(Problem(where, "unit", "must be an object"))
            continue
        known = {"parent_id": None, "name_en": "", "mediation_body": None, "lat": None, "lon": None}
        rows.append(_Row(where, known | unit))
    by_id: dict[str, _Row] = {}
    for row in rows:
        by_id.setdefault(str(row.unit.get("id")), row)
    _attach_json_extras(document, by_id, problems)
    return rows


def _attach_json_extras(
    document: Mapping[str, Any], rows: dict[str, _Row], problems: list[Problem]
) -> None:
    for index, mediator in enumerate(document.get("mediators") or []):
        row = rows.get(str(mediator.get("unit_id"))) if isinstance(mediator, dict) else None
        if row is None:
            problems.append(Problem(f"mediators[{index}]", "unit_id", "no such unit in the file"))
            continue
        row.mediators.append({"categories": ALL_CATEGORIES} | mediator)
    for group, unit_id in (document.get("wechat_groups") or {}).items():
        row = rows.get(str(unit_id))
        if row is None:
            problems.append(Problem(f"wechat_groups.{group}", "unit", "no such unit in the file"))
            continue
        row.wechat_groups.append(group)


# --- checking ----------------------------------------------------------------------------


def unit_problems(unit: Mapping[str, Any], kinds: Mapping[str, str]) -> list[Problem]:
    """What is wrong with one unit (as a row of a file has it) among units of `kinds` (id →
    kind): the checks a file's rows get, for a unit an admin adds or changes at run time."""
    where = str(unit.get("id"))
    return list(_unit_problems(_Row(where, dict(unit)), kinds))


def _problems_of(rows: list[_Row]) -> Iterable[Problem]:
    kinds: dict[str, str] = {}
    for row in rows:
        unit_id = str(row.unit.get("id"))
        if unit_id in kinds:
            yield Problem(row.where, "id", f"'{unit_id}' appears more than once")
        kinds.setdefault(unit_id, str(row.unit.get("kind")))
    yield from _root_problems(rows)
    seen_mediators: set[str] = set()
    seen_groups: set[str] = set()
    for row in rows:
        yield from _unit_problems(row, kinds)
        yield from _mediator_problems(row, seen_mediators)
        yield from _group_problems(row, seen_groups)


def _root_problems(rows: list[_Row]) -> Iterable[Problem]:
    roots = [row for row in rows if row.unit.get("parent_id") is None]
    if not rows:
        yield Problem("document", "units", "the file holds no units")
    elif len(roots) != 1:
        names = ", ".join(str(row.unit.get("id")) for row in roots) or "none"
        yield Problem("document", "parent_id", f"exactly one unit has no parent; here: {names}")


def _unit_problems(row: _Row, kinds: Mapping[str, str]) -> Iterable[Problem]:
    unit, where = row.unit, row.where
    kind, parent_id = unit.get("kind"), unit.get("parent_id")
    if not isinstance(unit.get("id"), str) or not re.match(UNIT_ID_PATTERN, unit["id"]):
        yield Problem(where, "id", "a slug (`hanyin-shuangru`) or a division code is required")
    if kind not in LADDER:
        yield Problem(where, "kind", f"'{kind}' is not one of {', '.join(LADDER)}")
    elif parent_id is None and kind not in ("prefecture", "county"):
        yield Problem(where, "parent_id", f"a {kind} needs the unit it belongs to")
    elif parent_id is not None:
        yield from _parent_problems(where, str(kind), str(parent_id), kinds)
    yield from _text_problems(row)
    yield from _place_problems(row)


def _parent_problems(
    where: str, kind: str, parent_id: str, kinds: Mapping[str, str]
) -> Iterable[Problem]:
    above = LADDER[LADDER.index(kind) - 1] if kind != LADDER[0] else None
    parent_kind = kinds.get(parent_id)
    if parent_kind is None:
        yield Problem(where, "parent_id", f"'{parent_id}' is not a unit of the file")
    elif parent_kind != above:
        yield Problem(where, "parent_id", f"a {kind} belongs to a {above}, not a {parent_kind}")


def _text_problems(row: _Row) -> Iterable[Problem]:
    unit = row.unit
    if not isinstance(unit.get("name"), str) or not unit["name"].strip():
        yield Problem(row.where, "name", "required")
    for name in ("name", "name_en", "mediation_body"):
        value = unit.get(name)
        if value is not None and not isinstance(value, str):
            yield Problem(row.where, name, "must be text")
        elif value and (len(value) > MAX_TEXT or _CONTROL.search(value)):
            yield Problem(row.where, name, f"at most {MAX_TEXT} characters, no control characters")
    if unit.get("kind") == "grid" and unit.get("mediation_body"):
        yield Problem(row.where, "mediation_body", "a grid has no mediation body of its own")


def _place_problems(row: _Row) -> Iterable[Problem]:
    lat, lon = row.unit.get("lat"), row.unit.get("lon")
    if (lat is None) != (lon is None):
        yield Problem(
            row.where, "lat" if lat is None else "lon", "give both lat and lon, or neither"
        )
    for name, value, bound in (("lat", lat, 90), ("lon", lon, 180)):
        if value is not None and (not isinstance(value, int | float) or abs(value) > bound):
            yield Problem(row.where, name, f"must be a number between -{bound} and {bound}")


def _mediator_problems(row: _Row, seen: set[str]) -> Iterable[Problem]:
    if row.mediators and row.unit.get("kind") == "grid":
        yield Problem(row.where, "mediators", "grids have no mediators; list them on the village")
    for mediator in row.mediators:
        mediator_id = str(mediator.get("id"))
        if not re.match(MEDIATOR_ID_PATTERN, mediator_id):
            yield Problem(row.where, "mediators", f"'{mediator_id}' is not a mediator id")
        elif mediator_id in seen:
            yield Problem(row.where, "mediators", f"'{mediator_id}' is listed more than once")
        seen.add(mediator_id)
        if not str(mediator.get("name") or "").strip():
            yield Problem(row.where, "mediators", f"'{mediator_id}' needs a name")
        unknown = [c for c in mediator.get("categories") or [] if c not in ALL_CATEGORIES]
        if unknown:
            yield Problem(row.where, "mediators", f"unknown categories {', '.join(unknown)}")


def _group_problems(row: _Row, seen: set[str]) -> Iterable[Problem]:
    if row.wechat_groups and row.unit.get("kind") != "village":
        yield Problem(row.where, "wechat_groups", "only a village has WeChat groups")
    for group in row.wechat_groups:
        if group in seen:
            yield Problem(row.where, "wechat_groups", f"'{group}' belongs to two units")
        seen.add(group)
