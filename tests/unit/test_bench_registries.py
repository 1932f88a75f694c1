"""The routing bench runs over both registries it reports on: the shipped county and a
prefecture-size one, each routing reports from its own villages to its own units."""

from functools import cache

from contracts.registry import Registry, hanyin
from router import bench_rules


@cache
def prefecture() -> Registry:
    return bench_rules.prefecture()


def test_the_generated_registry_is_prefecture_size() -> None:
    kinds = [unit.kind for unit in prefecture().units.values()]
    assert len(kinds) >= 10_000
    assert kinds.count("grid") >= 5_000
    assert [label for label, _ in bench_rules.registries()] == [
        "Hanyin (shipped)",
        "prefecture (generated)",
    ]


def test_each_registry_is_benched_with_reports_from_its_own_villages() -> None:
    for registry in (hanyin(), prefecture()):
        reports = bench_rules.synthetic(30, registry)
        places = {report.dispute.village_id for report in reports}
        assert places
        assert all(registry.unit(p or "") is not None for p in places)


def test_a_tiny_run_routes_every_report_to_a_unit_of_the_registry_benched() -> None:
    for label, registry in (("hanyin", hanyin()), ("prefecture", prefecture())):
        result = bench_rules.run(label, registry, 25)
        assert result.n == 25
        assert len(result.routed) == 25
        assert result.units == len(registry.units)
        assert all(registry.unit(routed.unit_id) is not None for routed in result.routed)
        assert all(
            routed.mediator_id is None or routed.mediator_id in registry.mediators
            for routed in result.routed
        )
    assert hanyin().unit(result.routed[0].unit_id) is None  # division codes, not Hanyin's


def test_the_units_api_costs_are_measured_on_the_big_registry() -> None:
    costs = bench_rules.units_api_costs(prefecture(), rounds=1)
    assert any(name.startswith("search") for name in costs)
    assert any(name.startswith("list") for name in costs)
    assert all(ms >= 0 for ms in costs.values())
