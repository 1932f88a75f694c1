from collections import Counter

from contracts.registry import hanyin
from contracts.vocabulary import Tier

JIANGHE = "hanyin-shuangru-jianghe"


def test_hanyin_sample_matches_the_published_figures() -> None:
    registry = hanyin()
    kinds = Counter(unit.kind for unit in registry.units.values())
    assert kinds == {"county": 1, "town": 10, "village": 156, "grid": 4876}
    assert registry.unit(JIANGHE) is not None
    assert registry.unit(JIANGHE).name == "江河村"  # type: ignore[union-attr]


def test_every_hanyin_slug_names_its_parent() -> None:
    """The sample's slugs spell their place; the registry's parent links say the same."""
    registry = hanyin()
    for unit in registry.units.values():
        assert (unit.id.rpartition("-")[0] or None) == unit.parent_id, unit.id
        assert registry.parent_of(unit.id) == unit.parent_id


def test_every_mediation_body_has_mediators_and_every_group_a_village() -> None:
    registry = hanyin()
    for unit in registry.units.values():
        if unit.kind != "grid":
            assert registry.mediators_of(unit.id), unit.id
    for village_id in registry.wechat_groups.values():
        assert registry.units[village_id].kind == "village"


def test_mediation_unit_per_tier() -> None:
    registry = hanyin()
    grid = f"{JIANGHE}-g03"
    assert registry.mediation_unit(grid, Tier.VILLAGE).id == JIANGHE
    assert registry.mediation_unit(grid, Tier.TOWN).id == "hanyin-shuangru"
    assert registry.mediation_unit(grid, Tier.COUNTY).id == "hanyin"
    assert registry.mediation_unit("nowhere", Tier.VILLAGE).id == "hanyin"
