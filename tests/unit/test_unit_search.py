"""Finding units by part of a name or id, over the shipped county and a prefecture-size
registry: what matches, in which order, within which subtree, named by which path."""

from functools import cache

from contracts.data import generate_xiangxi
from contracts.registry import Registry, hanyin
from contracts.unit_search import hit, search_units


@cache
def prefecture() -> Registry:
    return generate_xiangxi.registry(**generate_xiangxi.PREFECTURE_SIZE)


def ids(registry: Registry, text: str, **options: object) -> list[str]:
    return [unit.id for unit in search_units(registry, text, **options).units]  # type: ignore[arg-type]


def test_a_chinese_name_part_finds_the_village_before_its_grids() -> None:
    found = search_units(hanyin(), "梨垭")
    assert found.units[0].id == "hanyin-jianchi-liya"
    assert {unit.kind for unit in found.units} == {"village", "grid"}
    assert found.total == len(found.units)


def test_english_names_match_whatever_the_case() -> None:
    assert ids(hanyin(), "LIYA village")[0] == "hanyin-jianchi-liya"


def test_an_exact_id_comes_first_then_ids_that_begin_with_it() -> None:
    registry = prefecture()
    found = ids(registry, "433122100201", limit=5)
    assert found[0] == "433122100201"
    assert all(unit_id.startswith("433122100201-g") for unit_id in found[1:])


def test_an_id_prefix_ranks_higher_units_first() -> None:
    registry = prefecture()
    found = search_units(registry, "4331221", limit=3)
    assert [registry.units[u.id].kind for u in found.units] == ["town"] * 3
    assert found.total > 100


def test_kinds_and_within_narrow_the_search() -> None:
    registry = prefecture()
    town = "433123104000"
    found = search_units(registry, "村", kinds=("village",), within=town)
    assert found.total == generate_xiangxi.PREFECTURE_SIZE["villages"]
    assert all(unit.parent_id == town for unit in found.units)
    assert ids(registry, "泸溪", within=town) == []


def test_a_page_of_many_is_the_same_as_the_start_of_all_of_them() -> None:
    registry = prefecture()
    everything = ids(registry, "村")
    assert len(everything) == 2_400 + 14_400  # every village and grid
    assert ids(registry, "村", offset=10, limit=20) == everything[10:30]


def test_nothing_matches_an_empty_or_unknown_text() -> None:
    assert search_units(prefecture(), "   ").total == 0
    assert search_units(prefecture(), "不存在的地方").total == 0


def test_a_hit_names_its_path_from_the_top() -> None:
    village = hanyin().units["hanyin-jianchi-liya"]
    named = hit(hanyin(), village)
    assert named.path_text() == "汉阴县 › 涧池镇 › 梨垭村"
    assert named.path_text(english=True).endswith("Liya Village")
    grid = prefecture().units["433122100201-g03"]
    assert hit(prefecture(), grid).path[0] == "湘西土家族苗族自治州"
    assert hit(prefecture(), grid).path_en[-1] == grid.name  # no English name: the Chinese


def test_the_index_follows_the_registry_in_use() -> None:
    registry = hanyin()
    assert ids(registry, "梨垭")
    changed = registry.with_mediators("hanyin-jianchi-liya", [])
    assert ids(changed, "梨垭") == ids(registry, "梨垭")
    assert ids(prefecture(), "hanyin-jianchi") == []
