"""The ladder is the registry's: imports join or replace one jurisdiction's tree, routing climbs
as far as the place's own ladder goes (a prefecture where there is one), and the top only
alerts. A county-only registry behaves as it always did."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from contracts.admin import RegistryImported
from contracts.events import DisputeReported, Party
from contracts.registry import (
    Registry,
    RegistryConflictError,
    hanyin,
    in_force,
    load_registry,
    with_jurisdiction,
)
from contracts.vocabulary import Tier
from router.policy import Policy
from router.rules import escalate, route
from services.jurisdiction import Jurisdiction
from tests.factories import JIANGHE, escalation_of, reported

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
POLICY = Policy()
SAMPLE = Path("contracts/data/xiangxi.csv")
XIANGXI = load_registry(SAMPLE)
PREFECTURE = XIANGXI.top.id
LUXI, FENGHUANG = (unit.id for unit in XIANGXI.children_of(PREFECTURE, "county"))


def village_of(registry: Registry, county_id: str, index: int = 0) -> str:
    town = registry.children_of(county_id, "town")[0]
    return registry.children_of(town.id, "village")[index].id


def report_in(village: str, *party_villages: str, **fields: Any) -> DisputeReported:
    parties = tuple(Party(name=f"p{i}", village_id=v) for i, v in enumerate(party_villages))
    return reported(occurred_at=NOW, village_id=village, parties=parties, **fields)


def test_an_import_joins_the_registry_beside_hanyin_which_stays_the_top() -> None:
    both = with_jurisdiction(hanyin(), XIANGXI)
    assert both.top.id == "hanyin"
    assert len(both.units) == len(hanyin().units) + len(XIANGXI.units)
    assert both.is_within(village_of(XIANGXI, LUXI), PREFECTURE)
    assert both.mediators_of(PREFECTURE) == XIANGXI.mediators_of(PREFECTURE)


def test_a_new_version_of_a_file_replaces_its_own_tree_only() -> None:
    both = with_jurisdiction(hanyin(), XIANGXI)
    gone = village_of(XIANGXI, LUXI)
    smaller = replace(
        XIANGXI,
        units={k: u for k, u in XIANGXI.units.items() if not XIANGXI.is_within(k, gone)},
        mediators={k: m for k, m in XIANGXI.mediators.items() if m.unit_id != gone},
        wechat_groups={g: v for g, v in XIANGXI.wechat_groups.items() if v != gone},
    )
    again = with_jurisdiction(both, smaller)
    assert gone not in again.units
    assert not again.mediators_of(gone)
    assert gone not in again.wechat_groups.values()
    assert set(hanyin().units) <= set(again.units)
    assert again.children_of(PREFECTURE) == both.children_of(PREFECTURE)


def test_a_county_reimports_its_own_file_inside_its_prefecture() -> None:
    both = with_jurisdiction(hanyin(), XIANGXI)
    luxi = {k: u for k, u in XIANGXI.units.items() if XIANGXI.is_within(k, LUXI)}
    luxi[LUXI] = replace(luxi[LUXI], parent_id=None, name="泸溪县（新）")
    own = Registry(
        version="luxi-2",
        units=luxi,
        mediators={k: m for k, m in XIANGXI.mediators.items() if m.unit_id in luxi},
        wechat_groups={g: v for g, v in XIANGXI.wechat_groups.items() if v in luxi},
    )
    after = with_jurisdiction(both, own)
    assert after.units[LUXI].parent_id == PREFECTURE
    assert after.units[LUXI].name == "泸溪县（新）"
    assert after.is_within(village_of(XIANGXI, LUXI), PREFECTURE)


def test_ids_another_jurisdiction_holds_are_refused() -> None:
    clashing = replace(
        XIANGXI,
        units={**XIANGXI.units, JIANGHE: replace(hanyin().units[JIANGHE], parent_id=None)},
    )
    with pytest.raises(RegistryConflictError, match=JIANGHE):
        with_jurisdiction(hanyin(), replace(XIANGXI, units=dict(clashing.units)))
    as_town = replace(hanyin().units["hanyin"], kind="town", parent_id=None)
    with pytest.raises(RegistryConflictError, match="is a county here, not a town"):
        with_jurisdiction(hanyin(), Registry("x", {"hanyin": as_town}, {}, {}))


def test_parties_in_two_counties_go_to_the_prefecture_which_is_the_top() -> None:
    luxi, fenghuang = village_of(XIANGXI, LUXI), village_of(XIANGXI, FENGHUANG)
    routed = route(report_in(luxi, luxi, fenghuang), POLICY, XIANGXI, NOW)
    assert (routed.tier, routed.unit_id, routed.top) == (Tier.PREFECTURE, PREFECTURE, True)
    assert routed.trace[0].rule == "cross_county"
    assert routed.resolution_due_at == NOW + timedelta(
        days=POLICY.deadlines.resolution_days.prefecture
    )
    assert escalate(escalation_of(routed, at=NOW), POLICY, XIANGXI, NOW).routed is None


def test_a_county_case_escalates_to_the_prefecture() -> None:
    village = village_of(XIANGXI, LUXI)
    county = route(report_in(village, village, amount_yuan=600_000), POLICY, XIANGXI, NOW)
    assert (county.tier, county.unit_id, county.top) == (Tier.COUNTY, LUXI, False)
    up = escalate(escalation_of(county, at=NOW), POLICY, XIANGXI, NOW).routed
    assert up is not None
    assert (up.tier, up.unit_id, up.top, up.routing_seq) == (Tier.PREFECTURE, PREFECTURE, True, 2)
    assert up.trace[-1].rule == "escalated_from_county"


def test_in_a_county_only_registry_the_county_is_still_the_top() -> None:
    county = route(reported(occurred_at=NOW, amount_yuan=600_000), POLICY, hanyin(), NOW)
    assert (county.tier, county.unit_id, county.top) == (Tier.COUNTY, "hanyin", True)
    assert escalate(escalation_of(county, at=NOW), POLICY, hanyin(), NOW).routed is None
    village = route(reported(occurred_at=NOW), POLICY, hanyin(), NOW)
    assert (village.tier, village.top) == (Tier.VILLAGE, False)
    assert hanyin().mediation_unit(JIANGHE, Tier.PREFECTURE).id == "hanyin"


def test_an_import_read_from_the_config_topic_is_put_in_force() -> None:
    raw = SAMPLE.read_bytes()
    change = RegistryImported(
        occurred_at=NOW,
        correlation_id=f"registry:{PREFECTURE}",
        actor="admin",
        role="admin",
        actor_unit_id=PREFECTURE,
        file_name=SAMPLE.name,
        content_gzip=RegistryImported.pack(raw),
        top_unit_id=PREFECTURE,
        units=len(XIANGXI.units),
        version=XIANGXI.version,
    )
    jurisdiction = Jurisdiction(structlog.get_logger())
    assert jurisdiction.apply(change) is None
    assert in_force().unit(PREFECTURE) is not None
    assert in_force().top.id == "hanyin"
    broken = change.model_copy(update={"content_gzip": RegistryImported.pack(b"id,kind\n")})
    reason = jurisdiction.apply(broken)
    assert reason is not None
    assert "xiangxi.csv" in reason
