"""The routing decision as a pure function: same report, policy, registry and situation, same
decision. "Small matters stay in the village, big matters stay in the town" (DOMAIN.md).

The tier comes from the most severe matching condition (prefecture, county, then town, else
village), as far up as the place's own ladder in the registry goes; every
decision records the rule that matched, every rule that matched, the inputs it looked at and
the policy version. Deadlines run from the report's own time, so a replay reproduces them.
"""

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from contracts.events import (
    CaseEscalationRequested,
    CaseRouted,
    Dispute,
    DisputeReported,
    InputValue,
    RoutingStep,
    deterministic_event_id,
)
from contracts.registry import Registry, Unit, tier_of
from contracts.vocabulary import Category, Priority, RoutingReason, Tier
from router.assignment import Assignment, assign
from router.policy import Policy
from services.web.i18n import english


@dataclass(frozen=True)
class Rebound:
    """This report matches a resolved case (same place, category and party) within the window."""

    resolved_case_id: str
    resolved_tier: Tier
    reports: int
    """Re-reports of that case within the window, this one included."""


@dataclass(frozen=True)
class Situation:
    """What the router knows beyond the report, from its read models; recorded in the trace."""

    loads: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    rebound: Rebound | None = None


NO_HISTORY = Situation()


@dataclass(frozen=True)
class Decision:
    routed: CaseRouted | None
    """None only when an escalation found the case already at the top of its ladder."""
    saturated: bool = False


@dataclass(frozen=True)
class Facts:
    """The report as the rules see it."""

    dispute: Dispute
    place: Unit | None
    villages: tuple[str, ...]
    towns: tuple[str, ...]
    counties: tuple[str, ...]
    rebound: Rebound | None


Why = tuple[RoutingReason, dict[str, InputValue]]
"""A reason as a code and the facts it names; the step's English and every console's wording
come from the translation table (services/web/i18n.py, `route.<code>`)."""
Rule = Callable[[Facts, Policy], Why | None]
"""A tier condition: why it matched, or None."""
R = RoutingReason


def locate(dispute: Dispute, registry: Registry) -> Unit | None:
    """The village where it happened, else the complainant's; None when it cannot be known.

    A village or grid that was named but is not in the registry is unknown: the county desk
    triages it rather than guessing from the parties."""
    if dispute.needs_triage:
        return None
    if dispute.village_id:
        unit = registry.unit(dispute.village_id)
        return unit if unit is not None and unit.kind == "village" else None
    if dispute.grid_id:
        grid = registry.unit(dispute.grid_id)
        return registry.village_of(grid.id) if grid is not None and grid.kind == "grid" else None
    for party in dispute.parties:
        unit = registry.unit(party.village_id) if party.village_id else None
        if unit is not None and unit.kind == "village":
            return unit
    return None


def facts_of(dispute: Dispute, registry: Registry, rebound: Rebound | None) -> Facts:
    place = locate(dispute, registry)
    villages = {place.id} if place is not None else set()
    for party in dispute.parties:
        unit = registry.unit(party.village_id) if party.village_id else None
        if unit is not None and unit.kind == "village":
            villages.add(unit.id)
    towns = {unit.parent_id for unit in map(registry.units.__getitem__, villages)}
    counties = {registry.parent_of(town) for town in towns if town}
    return Facts(
        dispute=dispute,
        place=place,
        villages=tuple(sorted(villages)),
        towns=tuple(sorted(town for town in towns if town)),
        counties=tuple(sorted(county for county in counties if county)),
        rebound=rebound,
    )


def _cross_county(f: Facts, p: Policy) -> Why | None:
    if p.prefecture.cross_county and len(f.counties) > 1:
        return R.CROSS_COUNTY, {"counties": list(f.counties)}
    return None


def _cross_town(f: Facts, p: Policy) -> Why | None:
    if p.county.cross_town and len(f.towns) > 1:
        return R.CROSS_TOWN, {"towns": list(f.towns)}
    return None


def _amount(f: Facts, limit: float | None) -> Why | None:
    if limit is not None and f.dispute.amount_yuan >= limit:
        return R.AMOUNT, {"amount_yuan": f.dispute.amount_yuan, "limit": limit}
    return None


def _people(f: Facts, limit: int | None) -> Why | None:
    if limit is not None and f.dispute.people_involved >= limit:
        return R.PEOPLE, {"people_involved": f.dispute.people_involved, "limit": limit}
    return None


def _county_risk_flag(f: Facts, p: Policy) -> Why | None:
    flags = [flag.value for flag in f.dispute.risk_flags if flag in p.county.risk_flags]
    return (R.RISK_FLAG, {"risk_flags": flags}) if flags else None


def _county_party_kind(f: Facts, p: Policy) -> Why | None:
    kinds = sorted({q.kind.value for q in f.dispute.parties if q.kind in p.county.party_kinds})
    return (R.PARTY_KIND, {"party_kinds": kinds}) if kinds else None


def _category(f: Facts, categories: Collection[Category]) -> Why | None:
    if f.dispute.category in categories:
        return R.CATEGORY, {"category": f.dispute.category.value}
    return None


def _cross_village(f: Facts, p: Policy) -> Why | None:
    if p.town.cross_village and len(f.villages) > 1 and len(f.towns) == 1:
        return R.CROSS_VILLAGE, {"villages": list(f.villages)}
    return None


def _rebound(f: Facts, p: Policy) -> Why | None:
    rb = f.rebound
    if rb is None or rb.resolved_tier not in p.rebound.resolved_at_tiers:
        return None
    if rb.reports >= p.rebound.min_reports:
        return R.REBOUND, {
            "reports": rb.reports,
            "window_days": p.rebound.window_days,
            "resolved_case_id": rb.resolved_case_id,
            "resolved_tier": rb.resolved_tier.value,
        }
    return None


PREFECTURE_RULES: tuple[tuple[str, Rule], ...] = (("cross_county", _cross_county),)
COUNTY_RULES: tuple[tuple[str, Rule], ...] = (
    ("cross_town", _cross_town),
    ("county_amount", lambda f, p: _amount(f, p.county.amount_yuan_at_least)),
    ("county_people", lambda f, p: _people(f, p.county.people_at_least)),
    ("county_risk_flag", _county_risk_flag),
    ("county_party_kind", _county_party_kind),
    ("county_category", lambda f, p: _category(f, p.county.categories)),
)
TOWN_RULES: tuple[tuple[str, Rule], ...] = (
    ("cross_village", _cross_village),
    ("town_amount", lambda f, p: _amount(f, p.town.amount_yuan_at_least)),
    ("town_people", lambda f, p: _people(f, p.town.people_at_least)),
    ("town_category", lambda f, p: _category(f, p.town.categories)),
    ("rebound", _rebound),
)


def _matches(
    facts: Facts, policy: Policy, rules: tuple[tuple[str, Rule], ...]
) -> list[tuple[str, Why]]:
    return [(rule_id, why) for rule_id, check in rules if (why := check(facts, policy))]


def choose_tier(facts: Facts, policy: Policy) -> tuple[Tier, str, Why, list[str]]:
    """(tier, rule, why, every rule that matched), the most severe match first. The reason's
    facts name the tier it chose."""
    prefecture = _matches(facts, policy, PREFECTURE_RULES)
    county = _matches(facts, policy, COUNTY_RULES)
    town = _matches(facts, policy, TOWN_RULES)
    matched = [rule_id for rule_id, _ in prefecture + county + town]
    if facts.place is None:
        unclear = R.PLACE_UNCLEAR if facts.dispute.needs_triage else R.PLACE_NOT_FOUND
        return Tier.COUNTY, "unknown_location", (unclear, {}), matched
    ladder = ((Tier.PREFECTURE, prefecture), (Tier.COUNTY, county), (Tier.TOWN, town))
    for tier, found in ladder:
        if found:
            rule, (code, params) = found[0]
            return tier, rule, (code, params | {"tier": tier.value}), matched
    return Tier.VILLAGE, "village_default", (R.VILLAGE_DEFAULT, {}), matched


def priority_of(dispute: Dispute, policy: Policy) -> Priority:
    if any(flag in policy.urgent_risk_flags for flag in dispute.risk_flags):
        return Priority.URGENT
    found = [
        policy.household_priority.get(party.household_color, Priority.NORMAL)
        for party in dispute.parties
        if party.household_color is not None
    ]
    return max(found, key=lambda p: p.rank, default=Priority.NORMAL)


def _unit_for(place: Unit | None, tier: Tier, registry: Registry) -> tuple[Tier, Unit]:
    """The mediation unit at `tier`, or the nearest above it the place's ladder has; a place
    the registry cannot place goes to the deployment's top desk."""
    unit = registry.top if place is None else registry.mediation_unit(place.id, tier)
    return tier_of(unit), unit


def _next_unit(request: CaseEscalationRequested, registry: Registry) -> Unit | None:
    """One step up the registry's ladder from the unit holding the case; None at its top.
    A case held at a unit the registry no longer has goes to the top desk."""
    if request.unit_id not in registry.units:
        return registry.top if request.unit_id != registry.top.id else None
    if request.tier is Tier.GRID:  # a grid's case is its village's before it is its town's
        village = registry.village_of(request.unit_id)
        if village is not None and village.id != request.unit_id:
            return village
    return registry.above(request.unit_id)


def at_top(unit: Unit, registry: Registry) -> bool:
    return registry.above(unit.id) is None


def _facts_inputs(facts: Facts, matched: list[str], reported_at: datetime) -> dict[str, InputValue]:
    d = facts.dispute
    rb = facts.rebound
    return {
        "village_id": d.village_id,
        "grid_id": d.grid_id,
        "place": facts.place.id if facts.place is not None else None,
        "party_villages": list(facts.villages),
        "towns": list(facts.towns),
        "category": d.category.value,
        "amount_yuan": d.amount_yuan,
        "people_involved": d.people_involved,
        "risk_flags": [flag.value for flag in d.risk_flags],
        "party_kinds": sorted({party.kind.value for party in d.parties}),
        "household_colors": sorted(
            {p.household_color.value for p in d.parties if p.household_color}
        ),
        "needs_triage": d.needs_triage,
        "matched": matched,
        "reported_at": reported_at.isoformat(),
        "rebound_of": rb.resolved_case_id if rb else None,
        "rebound_resolved_tier": rb.resolved_tier.value if rb else None,
        "rebound_reports": rb.reports if rb else None,
    }


def _assignment_inputs(assignment: Assignment) -> dict[str, InputValue]:
    return {
        "mediator_loads": assignment.loads_as_input(),
        "mediator_id": assignment.mediator_id,
        "saturated": assignment.saturated,
    }


def decide(
    reported: DisputeReported,
    policy: Policy,
    registry: Registry,
    decided_at: datetime,
    situation: Situation = NO_HISTORY,
) -> Decision:
    dispute = reported.dispute
    facts = facts_of(dispute, registry, situation.rebound)
    wanted, rule, why, matched = choose_tier(facts, policy)
    tier, unit = _unit_for(facts.place, wanted, registry)
    assignment = assign(
        registry.mediators_of(unit.id),
        dispute.category,
        situation.loads,
        policy.assignment.max_open_cases_per_mediator,
    )
    code, params = why
    # Built without re-validation: every value is typed here, and validating the inputs union
    # value by value was a quarter of a decision's cost. Consumers validate what they read.
    step = RoutingStep.model_construct(
        tier=tier,
        unit_id=unit.id,
        rule=rule,
        reason=english(f"route.{code}", params),
        reason_code=code.value,
        reason_params=params,
        inputs=_facts_inputs(facts, matched, reported.occurred_at) | _assignment_inputs(assignment),
        policy_version=policy.version,
        decided_at=decided_at,
    )
    priority = priority_of(dispute, policy)
    urgent = priority is Priority.URGENT
    routed = CaseRouted.model_construct(  # typed values again, as the step above
        event_id=deterministic_event_id(dispute.dispute_id, "routed", "1"),
        occurred_at=decided_at,
        correlation_id=reported.correlation_id,
        case_id=dispute.dispute_id,
        routing_seq=1,
        dispute=dispute,
        tier=tier,
        unit_id=unit.id,
        mediator_id=assignment.mediator_id,
        priority=priority,
        urgent=urgent,
        acceptance_due_at=reported.occurred_at + policy.deadlines.acceptance(urgent=urgent),
        resolution_due_at=reported.occurred_at + policy.deadlines.resolution(tier),
        trace=(step,),
        rebound_of=situation.rebound.resolved_case_id if situation.rebound else None,
        top=at_top(unit, registry),
    )
    return Decision(routed=routed, saturated=assignment.saturated)


def route(
    reported: DisputeReported,
    policy: Policy,
    registry: Registry,
    decided_at: datetime,
    situation: Situation = NO_HISTORY,
) -> CaseRouted:
    """Where a newly reported dispute goes, and why."""
    routed = decide(reported, policy, registry, decided_at, situation).routed
    assert routed is not None  # a first routing always places the case
    return routed


def escalate(
    request: CaseEscalationRequested,
    policy: Policy,
    registry: Registry,
    decided_at: datetime,
    situation: Situation = NO_HISTORY,
) -> Decision:
    """One tier up the registry's ladder (village → town → county → prefecture where there is
    one), the trace appended; at the top there is nowhere to go.

    Deadlines run from the escalation request, so a replay reproduces them."""
    unit = _next_unit(request, registry)
    if unit is None:
        return Decision(routed=None)
    tier = tier_of(unit)
    dispute = request.dispute
    place = locate(dispute, registry)
    assignment = assign(
        registry.mediators_of(unit.id),
        dispute.category,
        situation.loads,
        policy.assignment.max_open_cases_per_mediator,
    )
    inputs: dict[str, InputValue] = {
        "from_tier": request.tier.value,
        "from_unit_id": request.unit_id,
        "escalation_reason": request.reason.value,
        "escalated_routing_seq": request.routing_seq,
        "place": place.id if place is not None else None,
        "requested_at": request.occurred_at.isoformat(),
    }
    params: dict[str, InputValue] = {
        "escalation_reason": request.reason.value,
        "from_tier": request.tier.value,
    }
    step = RoutingStep(
        tier=tier,
        unit_id=unit.id,
        rule=f"escalated_from_{request.tier.value}",
        reason=english(f"route.{R.ESCALATED}", params),
        reason_code=R.ESCALATED.value,
        reason_params=params,
        inputs=inputs | _assignment_inputs(assignment),
        policy_version=policy.version,
        decided_at=decided_at,
    )
    priority = priority_of(dispute, policy)
    urgent = priority is Priority.URGENT
    first = request.trace[0].inputs.get("rebound_of") if request.trace else None
    seq = request.routing_seq + 1
    routed = CaseRouted(
        event_id=deterministic_event_id(request.case_id, "routed", str(seq)),
        occurred_at=decided_at,
        correlation_id=request.correlation_id,
        case_id=request.case_id,
        routing_seq=seq,
        dispute=dispute,
        tier=tier,
        unit_id=unit.id,
        mediator_id=assignment.mediator_id,
        priority=priority,
        urgent=urgent,
        acceptance_due_at=request.occurred_at + policy.deadlines.acceptance(urgent=urgent),
        resolution_due_at=request.occurred_at + policy.deadlines.resolution(tier),
        trace=(*request.trace, step),
        rebound_of=first if isinstance(first, str) else None,
        top=at_top(unit, registry),
    )
    return Decision(routed=routed, saturated=assignment.saturated)
