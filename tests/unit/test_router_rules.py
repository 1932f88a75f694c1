"""Table tests: one row per rule of the default policy (DOMAIN.md), and its boundaries."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.events import CaseRouted, Party
from contracts.registry import hanyin
from contracts.vocabulary import Category, HouseholdColor, PartyKind, Priority, RiskFlag, Tier
from router.policy import Policy
from router.rules import Rebound, Situation, decide, route
from tests.factories import JIANGHE, reported
from tests.wording import assert_reason_worded

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
SHUANGRU = "hanyin-shuangru"
CHABA = "hanyin-shuangru-chaba"  # another village of Shuangru Town
DONGYUAN = "hanyin-puxi-dongyuan"  # a village of Puxi Town
POLICY = Policy()


def party(village_id: str | None = None, **fields: Any) -> Party:
    return Party(name="x", village_id=village_id, **fields)


CASES: list[tuple[str, dict[str, Any], Tier, str, str]] = [
    # (case, report fields, tier, unit, rule)
    ("small matter", {}, Tier.VILLAGE, JIANGHE, "village_default"),
    (
        "parties of two towns",
        {"parties": (party(JIANGHE), party(DONGYUAN))},
        Tier.COUNTY,
        "hanyin",
        "cross_town",
    ),
    (
        "parties of two villages of one town",
        {"parties": (party(JIANGHE), party(CHABA))},
        Tier.TOWN,
        SHUANGRU,
        "cross_village",
    ),
    (
        "parties of one village",
        {"parties": (party(JIANGHE), party(JIANGHE))},
        Tier.VILLAGE,
        JIANGHE,
        "village_default",
    ),
    ("amount 500,000", {"amount_yuan": 500_000}, Tier.COUNTY, "hanyin", "county_amount"),
    ("amount 499,999", {"amount_yuan": 499_999}, Tier.TOWN, SHUANGRU, "town_amount"),
    ("amount 50,000", {"amount_yuan": 50_000}, Tier.TOWN, SHUANGRU, "town_amount"),
    ("amount 49,999", {"amount_yuan": 49_999}, Tier.VILLAGE, JIANGHE, "village_default"),
    ("50 people", {"people_involved": 50}, Tier.COUNTY, "hanyin", "county_people"),
    ("49 people", {"people_involved": 49}, Tier.TOWN, SHUANGRU, "town_people"),
    ("10 people", {"people_involved": 10}, Tier.TOWN, SHUANGRU, "town_people"),
    ("9 people", {"people_involved": 9}, Tier.VILLAGE, JIANGHE, "village_default"),
    (
        "group incident flag",
        {"risk_flags": (RiskFlag.GROUP_INCIDENT,)},
        Tier.COUNTY,
        "hanyin",
        "county_risk_flag",
    ),
    (
        "government body as a party",
        {"parties": (party(JIANGHE), party(kind=PartyKind.GOVERNMENT))},
        Tier.COUNTY,
        "hanyin",
        "county_party_kind",
    ),
    (
        "collective as a party stays local",
        {"parties": (party(JIANGHE), party(kind=PartyKind.COLLECTIVE))},
        Tier.VILLAGE,
        JIANGHE,
        "village_default",
    ),
    (
        "land requisition",
        {"category": Category.LAND_REQUISITION},
        Tier.COUNTY,
        "hanyin",
        "county_category",
    ),
    *[
        (f"category {category.value}", {"category": category}, Tier.TOWN, SHUANGRU, "town_category")
        for category in (
            Category.LAND_BOUNDARY,
            Category.WAGE_ARREARS,
            Category.TRAFFIC_ACCIDENT,
            Category.MEDICAL,
        )
    ],
    *[
        (
            f"category {category.value}",
            {"category": category},
            Tier.VILLAGE,
            JIANGHE,
            "village_default",
        )
        for category in (Category.NEIGHBOUR, Category.FAMILY, Category.HOUSING_SITE)
    ],
    (
        "grid only: its village",
        {"village_id": None, "grid_id": f"{JIANGHE}-g03"},
        Tier.VILLAGE,
        JIANGHE,
        "village_default",
    ),
    (
        "no place: the complainant's village",
        {"village_id": None, "parties": (party(CHABA),)},
        Tier.VILLAGE,
        CHABA,
        "village_default",
    ),
    (
        "unknown village",
        {"village_id": "hanyin-shuangru-atlantis"},
        Tier.COUNTY,
        "hanyin",
        "unknown_location",
    ),
    (
        "unknown grid",
        {"village_id": None, "grid_id": f"{JIANGHE}-g99"},
        Tier.COUNTY,
        "hanyin",
        "unknown_location",
    ),
    (
        "place only as text",
        {"village_id": None, "address_text": "河边", "needs_triage": True},
        Tier.COUNTY,
        "hanyin",
        "unknown_location",
    ),
    (
        "needs triage even with a village",
        {"needs_triage": True},
        Tier.COUNTY,
        "hanyin",
        "unknown_location",
    ),
    (
        "unknown place with a town condition still goes to the county desk",
        {"village_id": None, "amount_yuan": 60_000, "needs_triage": True},
        Tier.COUNTY,
        "hanyin",
        "unknown_location",
    ),
    (
        "county beats town when both match",
        {"amount_yuan": 600_000, "category": Category.MEDICAL},
        Tier.COUNTY,
        "hanyin",
        "county_amount",
    ),
]


@pytest.mark.parametrize(
    ("fields", "tier", "unit_id", "rule"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_tier_rules(fields: dict[str, Any], tier: Tier, unit_id: str, rule: str) -> None:
    decision = route(reported(occurred_at=NOW, **fields), POLICY, hanyin(), NOW)
    step = decision.trace[-1]
    assert (decision.tier, decision.unit_id, step.rule) == (tier, unit_id, rule)
    assert step.policy_version == POLICY.version
    assert step.tier is tier
    assert step.unit_id == unit_id
    assert CaseRouted.model_validate_json(decision.model_dump_json()) == decision  # valid event
    matched = step.inputs["matched"]
    assert isinstance(matched, list)
    if rule not in ("village_default", "unknown_location"):
        assert matched[0] == rule
    assert_reason_worded(step)


def test_every_matching_rule_is_recorded_with_the_inputs_it_looked_at() -> None:
    event = reported(occurred_at=NOW, amount_yuan=600_000, people_involved=12)
    step = route(event, POLICY, hanyin(), NOW).trace[-1]
    assert step.inputs["matched"] == ["county_amount", "town_amount", "town_people"]
    assert step.inputs["amount_yuan"] == 600_000
    assert step.inputs["people_involved"] == 12
    assert "¥600,000 ≥ ¥500,000" in step.reason


REBOUNDS = [
    (
        "second re-report after a village resolution",
        Rebound("c0", Tier.VILLAGE, 2),
        Tier.TOWN,
        "rebound",
    ),
    ("third re-report", Rebound("c0", Tier.VILLAGE, 3), Tier.TOWN, "rebound"),
    ("first re-report stays", Rebound("c0", Tier.VILLAGE, 1), Tier.VILLAGE, "village_default"),
    ("after a town resolution", Rebound("c0", Tier.TOWN, 2), Tier.VILLAGE, "village_default"),
    ("after a grid resolution", Rebound("c0", Tier.GRID, 2), Tier.TOWN, "rebound"),
]


@pytest.mark.parametrize(
    ("rebound", "tier", "rule"), [r[1:] for r in REBOUNDS], ids=[r[0] for r in REBOUNDS]
)
def test_rebound_rule(rebound: Rebound, tier: Tier, rule: str) -> None:
    decision = route(reported(occurred_at=NOW), POLICY, hanyin(), NOW, Situation(rebound=rebound))
    assert (decision.tier, decision.trace[-1].rule) == (tier, rule)
    assert decision.rebound_of == "c0"  # every re-report after "resolved" is a rebound
    assert decision.trace[-1].inputs["rebound_reports"] == rebound.reports
    assert_reason_worded(decision.trace[-1])


@pytest.mark.parametrize("flag", [f for f in RiskFlag if f is not RiskFlag.GROUP_INCIDENT])
def test_risk_flags_make_it_urgent_without_moving_it(flag: RiskFlag) -> None:
    decision = route(reported(risk_flags=(flag,), occurred_at=NOW), POLICY, hanyin(), NOW)
    assert (decision.tier, decision.priority, decision.urgent) == (
        Tier.VILLAGE,
        Priority.URGENT,
        True,
    )
    assert decision.acceptance_due_at == NOW + timedelta(hours=1)


def test_group_incident_is_urgent_and_a_county_case() -> None:
    decision = route(
        reported(risk_flags=(RiskFlag.GROUP_INCIDENT,), occurred_at=NOW), POLICY, hanyin(), NOW
    )
    assert (decision.tier, decision.urgent) == (Tier.COUNTY, True)
    assert decision.resolution_due_at == NOW + timedelta(days=30)


@pytest.mark.parametrize(
    ("colors", "expected"),
    [
        ((), Priority.NORMAL),
        ((HouseholdColor.GREEN,), Priority.NORMAL),
        ((HouseholdColor.GREEN, HouseholdColor.YELLOW), Priority.ELEVATED),
        ((HouseholdColor.RED, HouseholdColor.YELLOW), Priority.HIGH),
    ],
)
def test_household_colour_sets_priority(
    colors: tuple[HouseholdColor, ...], expected: Priority
) -> None:
    event = reported(colors=colors) if colors else reported(parties=())
    decision = route(event, POLICY, hanyin(), NOW)
    assert (decision.priority, decision.urgent) == (expected, False)
    assert decision.acceptance_due_at == event.occurred_at + timedelta(hours=24)


@pytest.mark.parametrize(
    ("fields", "days"),
    [({}, 7), ({"amount_yuan": 60_000}, 15), ({"amount_yuan": 600_000}, 30)],
)
def test_resolution_deadline_per_tier_runs_from_the_report(
    fields: dict[str, Any], days: int
) -> None:
    reported_at = NOW - timedelta(days=2)
    decision = route(reported(occurred_at=reported_at, **fields), POLICY, hanyin(), NOW)
    assert decision.resolution_due_at == reported_at + timedelta(days=days)


def test_thresholds_come_from_the_policy() -> None:
    stricter = POLICY.model_copy(
        update={"town": POLICY.town.model_copy(update={"amount_yuan_at_least": 20_000})}
    )
    stricter = Policy.model_validate(stricter.model_dump())
    event = reported(occurred_at=NOW, amount_yuan=30_000)
    assert route(event, POLICY, hanyin(), NOW).tier is Tier.VILLAGE
    changed = route(event, stricter, hanyin(), NOW)
    assert changed.tier is Tier.TOWN
    assert changed.trace[-1].policy_version == stricter.version != POLICY.version


def test_mediator_by_load_then_category_then_id() -> None:
    registry = hanyin()
    event = reported(occurred_at=NOW, category=Category.WAGE_ARREARS)  # a town matter
    idle = route(event, POLICY, registry, NOW)
    assert idle.mediator_id == "med-hanyin-shuangru-2"  # the one who handles wage arrears
    loads = {"med-hanyin-shuangru-2": 3, "med-hanyin-shuangru-1": 1, "med-hanyin-shuangru-3": 1}
    busy = route(event, POLICY, registry, NOW, Situation(loads=loads))
    assert busy.mediator_id == "med-hanyin-shuangru-4"  # the least loaded wins over fit
    tie = {"med-hanyin-shuangru-4": 1, "med-hanyin-shuangru-2": 3}
    assert route(event, POLICY, registry, NOW, Situation(loads=tie)).mediator_id == (
        "med-hanyin-shuangru-1"  # 1 and 3 tie on load and fit: lowest id
    )
    assert busy.trace[-1].inputs["mediator_loads"] == [
        "med-hanyin-shuangru-1=1",
        "med-hanyin-shuangru-2=3",
        "med-hanyin-shuangru-3=1",
        "med-hanyin-shuangru-4=0",
    ]


def test_a_saturated_unit_keeps_the_case_at_its_tier() -> None:
    full = {f"med-{JIANGHE}-1": 30, f"med-{JIANGHE}-2": 31}
    decision = decide(reported(occurred_at=NOW), POLICY, hanyin(), NOW, Situation(loads=full))
    assert decision.saturated
    assert decision.routed is not None
    assert (decision.routed.tier, decision.routed.mediator_id) == (
        Tier.VILLAGE,
        f"med-{JIANGHE}-1",
    )
    assert decision.routed.trace[-1].inputs["saturated"] is True
    one_free = {f"med-{JIANGHE}-1": 30, f"med-{JIANGHE}-2": 29}
    assert not decide(reported(), POLICY, hanyin(), NOW, Situation(loads=one_free)).saturated


def test_same_report_same_decision() -> None:
    event = reported(occurred_at=NOW, amount_yuan=70_000)
    assert route(event, POLICY, hanyin(), NOW) == route(event, POLICY, hanyin(), NOW)
