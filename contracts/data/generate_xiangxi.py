"""Writes xiangxi.csv, a second sample jurisdiction made as a prefecture would prepare its own
file (docs/jurisdiction-files.md): Xiangxi Prefecture (湘西州) over two of its counties, Luxi
(泸溪县) and Fenghuang (凤凰县), with national division codes as unit ids. The prefecture's and
the counties' names and codes are real; every town, village, grid and person, and every count
below the county, is synthetic (`name_en` says so). Deterministic.

`python -m contracts.data.generate_xiangxi` rewrites the sample; `--counties 8 --towns 15
--villages 20 --grids 6 --out FILE` writes a prefecture-size file of the same shape (≥ 10,000
units) for benchmarks.
"""

import argparse
import csv
import io
import random
from collections.abc import Iterator
from pathlib import Path

from contracts.data.generate_hanyin import FIRST, GIVEN, SECOND, SURNAMES, TOWN_SPECIALTIES
from contracts.registry import Registry, parse_document
from contracts.registry_file import COLUMNS, read_registry_file

PREFECTURE = ("433100000000", "湘西土家族苗族自治州", "Xiangxi Prefecture", 28.314, 109.739)
COUNTIES = [
    ("433122", "泸溪县", "Luxi County", 28.216, 110.219),
    ("433123", "凤凰县", "Fenghuang County", 27.948, 109.599),
    ("433124", "花垣县", "Huayuan County", 28.572, 109.482),
    ("433125", "保靖县", "Baojing County", 28.699, 109.660),
    ("433126", "古丈县", "Guzhang County", 28.617, 109.950),
    ("433127", "永顺县", "Yongshun County", 28.999, 109.853),
    ("433130", "龙山县", "Longshan County", 29.458, 109.443),
    ("433101", "吉首市", "Jishou City", 28.262, 109.698),
]
Row = dict[str, str]


def names(rng: random.Random, suffix: str) -> Iterator[tuple[str, str]]:
    """Distinct (Chinese name, pinyin) pairs, drawn without repeats, then numbered."""
    pairs = [(f"{a}{b}{suffix}", f"{pa}{pb}") for a, pa in FIRST for b, pb in SECOND]
    rng.shuffle(pairs)
    round_ = 0
    while True:
        for name, pinyin in pairs:
            yield (name, pinyin) if round_ == 0 else (f"{name[:-1]}{round_ + 1}{suffix}", pinyin)
        round_ += 1


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def mediators_cell(unit_id: str, rng: random.Random, specialties: list[list[str]]) -> str:
    listed = []
    for n, categories in enumerate(specialties, 1):
        shown = f"[{','.join(categories)}]" if categories else ""
        listed.append(f"med-{unit_id}-{n}={person(rng)}{shown}")
    return ";".join(listed)


def unit_row(unit_id: str, kind: str, parent: str, name: str, name_en: str, **rest: str) -> Row:
    row = {"id": unit_id, "kind": kind, "parent_id": parent, "name": name, "name_en": name_en}
    return row | rest


def build(counties: int, towns: int, villages: int, grids: int) -> list[Row]:
    rng = random.Random(433100)
    code, name, name_en, lat, lon = PREFECTURE
    rows = [
        unit_row(code, "prefecture", "", name, name_en, mediation_body=f"{name}矛盾纠纷调处中心")
        | _place(lat, lon)
        | {"mediators": mediators_cell("xiangxi", rng, [[], []])}
    ]
    shape = _Shape(towns, villages, grids, rng)
    for county in COUNTIES[:counties]:
        rows.extend(_county_rows(code, county, shape))
    return rows


class _Shape:
    def __init__(self, towns: int, villages: int, grids: int, rng: random.Random) -> None:
        self.towns, self.villages, self.grids, self.rng = towns, villages, grids, rng
        self.groups = 30000000


def _county_rows(
    parent: str, county: tuple[str, str, str, float, float], shape: _Shape
) -> Iterator[Row]:
    c_code, c_name, c_en, c_lat, c_lon = county
    rng, county_id = shape.rng, f"{c_code}000000"
    yield (
        unit_row(county_id, "county", parent, c_name, c_en)
        | {"mediation_body": f"{c_name}矛盾纠纷调处中心"}
        | _place(c_lat, c_lon)
        | {"mediators": mediators_cell(c_code, rng, [[], [], []])}
    )
    specialties = [[c.value for c in s] + ["other"] for s in TOWN_SPECIALTIES]
    town_names, village_names = names(rng, "镇"), names(rng, "村")
    for t in range(shape.towns):
        t_name, t_pinyin = next(town_names)
        town_id = f"{c_code}{100 + t:03d}000"
        t_lat, t_lon = c_lat + rng.uniform(-0.2, 0.2), c_lon + rng.uniform(-0.2, 0.2)
        yield (
            unit_row(town_id, "town", county_id, t_name, f"{t_pinyin.title()} Town (synthetic)")
            | {"mediation_body": f"{t_name}矛盾纠纷调处中心"}
            | _place(t_lat, t_lon)
            | {"mediators": mediators_cell(town_id, rng, specialties)}
        )
        for v in range(shape.villages):
            yield from _village_rows(town_id, v, next(village_names), (t_lat, t_lon), shape)


def _village_rows(
    town_id: str, v: int, named: tuple[str, str], near: tuple[float, float], shape: _Shape
) -> Iterator[Row]:
    (v_name, v_pinyin), rng = named, shape.rng
    village_id = f"{town_id[:9]}{201 + v:03d}"
    shape.groups += 1
    yield (
        unit_row(village_id, "village", town_id, v_name, f"{v_pinyin.title()} (synthetic)")
        | {"mediation_body": f"{v_name}人民调解委员会"}
        | _place(near[0] + rng.uniform(-0.04, 0.04), near[1] + rng.uniform(-0.04, 0.04))
        | {"wechat_groups": f"{shape.groups}@chatroom"}
        | {"mediators": mediators_cell(village_id, rng, [[], []])}
    )
    for g in range(1, shape.grids + 1):
        yield unit_row(f"{village_id}-g{g:02d}", "grid", village_id, f"{v_name}第{g}网格", "")


def _place(lat: float, lon: float) -> Row:
    return {"lat": f"{lat:.5f}", "lon": f"{lon:.5f}"}


def as_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


PREFECTURE_SIZE = {"counties": 8, "towns": 15, "villages": 20, "grids": 6}
"""16,929 units, 14,400 of them grids: the size benchmarks and scale tests read."""


def registry(counties: int, towns: int, villages: int, grids: int) -> Registry:
    """The registry of a file of this shape, made in memory, read as a county's file is."""
    rows = build(counties, towns, villages, grids)
    shape = f"{counties}x{towns}x{villages}x{grids}"
    document = read_registry_file(as_csv(rows), json_format=False, version=f"xiangxi-{shape}")
    return parse_document(document)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=2)
    parser.add_argument("--towns", type=int, default=4, help="per county")
    parser.add_argument("--villages", type=int, default=5, help="per town")
    parser.add_argument("--grids", type=int, default=3, help="per village")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("xiangxi.csv"))
    args = parser.parse_args()
    rows = build(args.counties, args.towns, args.villages, args.grids)
    args.out.write_text(as_csv(rows), encoding="utf-8")
    print(f"wrote {args.out}: {len(rows)} units")


if __name__ == "__main__":
    main()
