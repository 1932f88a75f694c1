"""Reading a jurisdiction file: a good CSV or JSON becomes the registry's document; every bad
row is named by line and field, and a file with any problem yields nothing."""

import json
from pathlib import Path

import pytest

from contracts.registry import DATA_DIR, parse_document
from contracts.registry_file import RegistryFileError, read_registry_file

HEADER = "id,kind,parent_id,name,name_en,mediation_body,lat,lon,wechat_groups,mediators\n"
GOOD = HEADER + (
    "433100000000,prefecture,,湘西州,Xiangxi,湘西州矛盾纠纷调处中心,28.31,109.74,,med-xx-1=向红\n"
    "433122000000,county,433100000000,泸溪县,Luxi,泸溪县矛盾纠纷调处中心,28.21,110.21,,\n"
    "433122100000,town,433122000000,白沙镇（示例）,Baisha,白沙镇调处中心,28.2,110.2,,"
    '"med-lx-bs-1=田芳[neighbour,family]"\n'
    "433122100201,village,433122100000,梨坪村（示例）,Liping,梨坪村人民调解委员会,28.19,110.19,"
    "30000001@chatroom;30000002@chatroom,med-lx-bs-lp-1=彭强\n"
    "433122100201-g01,grid,433122100201,梨坪村第1网格,,,,,,\n"
)


def read_csv(text: str) -> dict[str, object]:
    return read_registry_file(text, json_format=False, version="test-1")


def problems_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(RegistryFileError) as refused:
        read_csv(text)
    return [(p.where, p.field) for p in refused.value.problems]


def test_a_good_csv_becomes_a_registry_with_division_codes() -> None:
    registry = parse_document(read_csv(GOOD))
    assert registry.version == "test-1"
    assert registry.unit("433122100201-g01") is not None
    assert [u.kind for u in registry.units.values()] == [
        "prefecture",
        "county",
        "town",
        "village",
        "grid",
    ]
    assert registry.mediators["med-lx-bs-1"].unit_id == "433122100000"
    assert {c.value for c in registry.mediators["med-lx-bs-1"].categories} == {
        "neighbour",
        "family",
    }
    assert len(registry.mediators["med-lx-bs-lp-1"].categories) > 10  # all of them
    assert registry.wechat_groups == {
        "30000001@chatroom": "433122100201",
        "30000002@chatroom": "433122100201",
    }
    assert registry.children["433122000000"] == ("433122100000",)


def test_the_shipped_json_reads_back_as_the_same_registry() -> None:
    path = DATA_DIR / "hanyin.json"
    document = read_registry_file(path.read_text(encoding="utf-8"), json_format=True, version="v")
    shipped = parse_document(json.loads(path.read_text(encoding="utf-8")))
    read_back = parse_document(document)
    assert read_back.units == shipped.units
    assert read_back.mediators == shipped.mediators
    assert read_back.wechat_groups == shipped.wechat_groups


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("泸溪县,Luxi", "泸溪县,Luxi"), []),
        ((",county,433100000000", ",county,433199999999"), [("line 3", "parent_id")]),
        ((",town,433122000000", ",town,433100000000"), [("line 4", "parent_id")]),
        (("433122100201-g01,grid", "433122100201-g01,hamlet"), [("line 6", "kind")]),
        (("28.19,110.19", "north,110.19"), [("line 5", "lat")]),
        (("28.19,110.19", ",110.19"), [("line 5", "lat")]),
        (
            ("梨坪村第1网格,,,,,,", "梨坪村第1网格,,,,,30000009@chatroom,"),
            [("line 6", "wechat_groups")],
        ),
        (("=彭强", "=彭强[gossip]"), [("line 5", "mediators")]),
        (("med-lx-bs-lp-1=彭强", "med-lx-bs-1=彭强"), [("line 5", "mediators")]),
        (("med-lx-bs-lp-1=彭强", "彭强"), [("line 5", "mediators")]),
        (("433122100201-g01,grid", "433122100000,grid"), [("line 6", "id")]),
        (("梨坪村第1网格", ""), [("line 6", "name")]),
        (("梨坪村第1网格", "梨坪村\x07网格"), [("line 6", "name")]),
        (("433122000000,county,433100000000", "433122000000,county,"), [("document", "parent_id")]),
    ],
)
def test_each_bad_row_is_named_by_line_and_field(
    change: tuple[str, str], expected: list[tuple[str, str]]
) -> None:
    old, new = change
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    if not expected:
        assert read_csv(text)
        return
    assert problems_of(text) == expected


def test_every_problem_is_named_at_once_and_nothing_is_returned() -> None:
    text = GOOD.replace("north", "").replace("28.19,110.19", "x,y").replace(",town,", ",borough,")
    assert problems_of(text) == [
        ("line 5", "lat"),
        ("line 5", "lon"),
        ("line 4", "kind"),
        ("line 5", "parent_id"),
    ]


def test_unknown_or_missing_columns_are_named_on_the_header_line() -> None:
    text = GOOD.replace("mediators\n", "mediators,colour\n", 1).replace(",name_en,", ",", 1)
    assert problems_of(text.replace("kind,", "", 1)) == [
        ("line 1", "colour"),
        ("line 1", "kind"),
    ]


def test_a_json_file_names_its_bad_units_by_place() -> None:
    document = {
        "units": [
            {"id": "xx", "kind": "county", "name": "某县"},
            {"id": "xx-a", "kind": "village", "parent_id": "xx", "name": "某村"},
        ],
        "mediators": [{"id": "med-x-1", "unit_id": "nowhere", "name": "某"}],
        "wechat_groups": {},
    }
    with pytest.raises(RegistryFileError) as refused:
        read_registry_file(json.dumps(document), json_format=True, version="v")
    assert [(p.where, p.field) for p in refused.value.problems] == [
        ("mediators[0]", "unit_id"),
        ("units[1]", "parent_id"),
    ]
    del document["mediators"]
    with pytest.raises(RegistryFileError) as refused:
        read_registry_file(json.dumps(document), json_format=True, version="v")
    assert [(p.where, p.field) for p in refused.value.problems] == [("units[1]", "parent_id")]


def test_the_prefecture_sample_is_what_its_generator_writes_and_reads_cleanly() -> None:
    from contracts.data.generate_xiangxi import as_csv, build  # noqa: PLC0415

    shipped = (DATA_DIR / "xiangxi.csv").read_text(encoding="utf-8")
    assert as_csv(build(counties=2, towns=4, villages=5, grids=3)) == shipped
    registry = parse_document(read_csv(shipped))
    prefecture = registry.units["433100000000"]
    assert prefecture.kind == "prefecture"
    assert [u.name for u in registry.children_of(prefecture.id)] == ["泸溪县", "凤凰县"]
    kinds = [u.kind for u in registry.units.values()]
    assert (kinds.count("town"), kinds.count("village"), kinds.count("grid")) == (8, 40, 120)


def test_the_check_command_names_problems_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from router.registry_cli import main  # noqa: PLC0415

    good = tmp_path / "county.csv"
    good.write_text(GOOD, encoding="utf-8")
    assert main(["check", str(good)]) == 0
    assert "1 prefecture, 1 county, 1 town, 1 village, 1 grid" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD.replace(",town,", ",borough,"), encoding="utf-8")
    assert main(["check", str(bad)]) == 1
    said = capsys.readouterr().err
    assert "line 4, kind: 'borough' is not one of" in said
    assert "nothing loaded" in said
