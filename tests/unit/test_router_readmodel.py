"""The router's read models: open cases per mediator and resolutions for rebound detection."""

from datetime import UTC, datetime, timedelta

from contracts.events import Party
from contracts.vocabulary import Tier
from router.readmodel import LoadModel, ReboundModel, SaturationWatch
from router.rules import Rebound
from tests.factories import dispute

T0 = datetime(2026, 8, 1, tzinfo=UTC)
WINDOW = timedelta(days=90)


def test_load_counts_each_open_case_once() -> None:
    load = LoadModel()
    load.assigned("c1", 1, "m1")
    load.assigned("c1", 1, "m1")  # re-announced
    load.assigned("c2", 1, "m1")
    assert load.loads["m1"] == 2
    load.closed("c1")
    load.closed("c1")
    assert load.loads["m1"] == 1
    load.assigned("c1", 1, "m1")  # a late re-announcement of a closed routing
    assert load.loads["m1"] == 1


def test_escalation_moves_the_case_to_its_new_mediator() -> None:
    load = LoadModel()
    load.assigned("c1", 1, "village-m")
    load.closed("c1", 1)  # escalation requested for routing 1
    load.assigned("c1", 2, "town-m")
    load.assigned("c1", 1, "village-m")  # stale
    assert (load.loads["village-m"], load.loads["town-m"]) == (0, 1)
    load.assigned("c1", 2, "town-m2")  # the same routing re-decided elsewhere
    assert (load.loads["town-m"], load.loads["town-m2"]) == (0, 1)


def test_an_escalation_read_after_the_routing_it_led_to_leaves_the_case_open() -> None:
    load = LoadModel()
    load.assigned("c1", 1, "village-m", "village")
    load.assigned("c1", 2, "town-m", "town")  # the routed topic read before the lifecycle
    load.closed("c1", 1)
    assert load.loads["town-m"] == 1
    assert load.open_cases_at("town") == ["c1"]


def test_reopened_case_counts_again() -> None:
    load = LoadModel()
    load.assigned("c1", 1, "m1")
    load.closed("c1")
    load.reopened("c1", "m1")
    load.reopened("c1", "m1")
    assert load.loads["m1"] == 1


def test_rebound_counts_re_reports_after_a_resolution_within_the_window() -> None:
    model = ReboundModel()
    original = dispute(dispute_id="c0", parties=(Party(name="x", phone_hash="h1"),))
    model.resolved("c0", Tier.VILLAGE, T0, original.match_keys())
    again = dispute(dispute_id="r1", parties=(Party(name="x", phone_hash="h1"),))
    at1 = T0 + timedelta(days=10)
    assert model.match(again, at1, WINDOW) == Rebound("c0", Tier.VILLAGE, 1)
    model.reported("c0", "r1", at1)
    assert model.match(again, at1, WINDOW) == Rebound("c0", Tier.VILLAGE, 1)  # asked again
    third = dispute(dispute_id="r2", parties=(Party(name="x", phone_hash="h1"),))
    assert model.match(third, T0 + timedelta(days=20), WINDOW) == Rebound("c0", Tier.VILLAGE, 2)
    assert model.match(third, T0 + timedelta(days=91), WINDOW) is None
    assert model.match(third, T0 - timedelta(days=1), WINDOW) is None


def test_rebound_needs_the_same_place_category_and_party() -> None:
    model = ReboundModel()
    original = dispute(dispute_id="c0", parties=(Party(name="x", phone_hash="h1"),))
    model.resolved("c0", Tier.VILLAGE, T0, original.match_keys())
    at = T0 + timedelta(days=1)
    other_party = dispute(parties=(Party(name="y", phone_hash="h2"),))
    no_hash = dispute(parties=(Party(name="x"),))
    other_village = dispute(
        village_id="hanyin-shuangru-chaba", parties=(Party(name="x", phone_hash="h1"),)
    )
    for candidate in (other_party, no_hash, other_village):
        assert model.match(candidate, at, WINDOW) is None


def test_saturation_alerts_once_per_episode() -> None:
    watch = SaturationWatch()
    assert [watch.observe("u", s) for s in (True, True, False, True)] == [True, False, False, True]
