"""The routing decision as a pure function: same dispute and policy, same decision."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.events import CaseRouted, DisputeReported, RoutingStep, deterministic_event_id
from contracts.ids import COUNTY_UNIT_ID
from contracts.vocabulary import HouseholdColor, Priority, Tier


@dataclass(frozen=True)
class Deadlines:
    accept_normal: timedelta = timedelta(hours=24)
    accept_urgent: timedelta = timedelta(hours=1)
    resolve_village: timedelta = timedelta(days=7)
    resolve_town: timedelta = timedelta(days=15)
    resolve_county: timedelta = timedelta(days=30)

    def resolution(self, tier: Tier) -> timedelta:
        if tier is Tier.COUNTY:
            return self.resolve_county
        if tier is Tier.TOWN:
            return self.resolve_town
        return self.resolve_village


@dataclass(frozen=True)
class Policy:
    version: str = "builtin-village-default"
    county_unit_id: str = COUNTY_UNIT_ID
    deadlines: Deadlines = Deadlines()


def priority_of(reported: DisputeReported) -> Priority:
    dispute = reported.dispute
    if dispute.risk_flags:
        return Priority.URGENT
    colors = {party.household_color for party in dispute.parties}
    if HouseholdColor.RED in colors:
        return Priority.HIGH
    if HouseholdColor.YELLOW in colors:
        return Priority.ELEVATED
    return Priority.NORMAL


def route(reported: DisputeReported, policy: Policy, decided_at: datetime) -> CaseRouted:
    """Small matters stay in the village; a report with no known village goes to the county desk.

    Deadlines run from the time of the report, so a replay reproduces them exactly.
    """
    dispute = reported.dispute
    if dispute.village_id:
        tier, unit_id, rule = Tier.VILLAGE, dispute.village_id, "village_default"
        reason = "no town or county condition matched: the village where it happened mediates"
    else:
        tier, unit_id, rule = Tier.COUNTY, policy.county_unit_id, "unknown_location"
        reason = "the place could not be resolved to a village: county desk triages"
    priority = priority_of(reported)
    urgent = priority is Priority.URGENT
    accept_within = policy.deadlines.accept_urgent if urgent else policy.deadlines.accept_normal
    step = RoutingStep(
        tier=tier,
        unit_id=unit_id,
        rule=rule,
        reason=reason,
        inputs={"village_id": dispute.village_id, "risk_flags": list(dispute.risk_flags)},
        policy_version=policy.version,
        decided_at=decided_at,
    )
    return CaseRouted(
        event_id=deterministic_event_id(dispute.dispute_id, "routed", "1"),
        occurred_at=decided_at,
        correlation_id=reported.correlation_id,
        case_id=dispute.dispute_id,
        routing_seq=1,
        dispute=dispute,
        tier=tier,
        unit_id=unit_id,
        priority=priority,
        urgent=urgent,
        acceptance_due_at=reported.occurred_at + accept_within,
        resolution_due_at=reported.occurred_at + policy.deadlines.resolution(tier),
        trace=(step,),
    )
