from contracts.registry import hanyin
from intake.places import distance_km, resolve

JIANGHE = "hanyin-shuangru-jianghe"


def test_grid_names_its_village_and_village_stands_alone() -> None:
    registry = hanyin()
    assert resolve(registry, grid_id=f"{JIANGHE}-g03").village_id == JIANGHE
    assert resolve(registry, village_id=JIANGHE).triage_reason is None


def test_coordinates_go_to_the_nearest_village_within_the_radius() -> None:
    registry = hanyin()
    huayuan = registry.unit("hanyin-chengguan-huayuan")
    assert huayuan is not None
    assert huayuan.lat is not None
    assert huayuan.lon is not None
    near = resolve(registry, lat=huayuan.lat + 0.001, lon=huayuan.lon, radius_km=5)
    assert near.village_id == huayuan.id
    beijing = resolve(registry, lat=39.9, lon=116.4, radius_km=5)
    assert beijing.village_id is None
    assert "km" in (beijing.triage_reason or "")


def test_far_coordinates_fall_back_to_the_address() -> None:
    placed = resolve(hanyin(), lat=39.9, lon=116.4, address_text="双乳镇江河村", radius_km=5)
    assert placed.village_id == JIANGHE


def test_address_text_by_village_town_or_nothing() -> None:
    registry = hanyin()
    assert resolve(registry, address_text="汉阴县双乳镇江河村三组").village_id == JIANGHE
    town_only = resolve(registry, address_text="双乳镇街上")
    assert town_only.village_id is None
    assert "hanyin-shuangru" in (town_only.triage_reason or "")
    assert resolve(registry, address_text="不知道哪里").triage_reason
    assert resolve(registry).triage_reason == "no place given"


def test_distance_is_in_kilometres() -> None:
    assert 110 < distance_km(32.0, 108.0, 33.0, 108.0) < 112
