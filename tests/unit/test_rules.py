from datetime import UTC, datetime, timedelta

import pytest

from contracts.registry import hanyin
from contracts.vocabulary import HouseholdColor, Priority, RiskFlag, Tier
from router.policy import Policy
from router.rules import route
from tests.factories import JIANGHE, reported

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def test_known_village_stays_in_the_village() -> None:
    decision = route(reported(occurred_at=NOW), Policy(), hanyin(), NOW)
    assert (decision.tier, decision.unit_id) == (Tier.VILLAGE, JIANGHE)
    assert decision.trace[-1].rule == "village_default"
    assert decision.trace[-1].policy_version == Policy().version
    assert decision.resolution_due_at == NOW + timedelta(days=7)
    assert decision.acceptance_due_at == NOW + timedelta(hours=24)


def test_unknown_place_goes_to_the_county_desk() -> None:
    decision = route(reported(village_id=None, address_text="河边"), Policy(), hanyin(), NOW)
    assert (decision.tier, decision.unit_id) == (Tier.COUNTY, "hanyin")
    assert decision.trace[-1].rule == "unknown_location"


def test_risk_flag_makes_it_urgent_with_a_one_hour_acceptance_deadline() -> None:
    decision = route(
        reported(risk_flags=(RiskFlag.WEAPON,), occurred_at=NOW), Policy(), hanyin(), NOW
    )
    assert decision.priority is Priority.URGENT
    assert decision.urgent
    assert decision.acceptance_due_at == NOW + timedelta(hours=1)
    assert decision.tier is Tier.VILLAGE


@pytest.mark.parametrize(
    ("colors", "expected"),
    [
        ((HouseholdColor.GREEN,), Priority.NORMAL),
        ((HouseholdColor.GREEN, HouseholdColor.YELLOW), Priority.ELEVATED),
        ((HouseholdColor.YELLOW, HouseholdColor.RED), Priority.HIGH),
    ],
)
def test_household_colour_sets_priority(
    colors: tuple[HouseholdColor, ...], expected: Priority
) -> None:
    assert route(reported(colors=colors), Policy(), hanyin(), NOW).priority is expected


def test_same_report_same_decision() -> None:
    event = reported(occurred_at=NOW)
    first, second = route(event, Policy(), hanyin(), NOW), route(event, Policy(), hanyin(), NOW)
    assert first == second
