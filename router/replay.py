"""Replaying history (pure): the same report under a recorded decision's policy version and
recorded situation gives the recorded decision; under a candidate policy it shows what would
change. The what-if command and the replay test both use these."""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from contracts.events import CaseResolved, CaseRouted, DisputeReported, RoutingStep
from contracts.registry import Registry
from contracts.vocabulary import Tier
from router.assignment import loads_from_input
from router.policy import Policy
from router.readmodel import ReboundModel
from router.rules import NO_HISTORY, Rebound, Situation, locate, route


def recorded_situation(step: RoutingStep) -> Situation:
    """What the read models told the router when it made this decision, from its trace."""
    inputs = step.inputs
    rebound = None
    case_id, tier, reports = (
        inputs.get("rebound_of"),
        inputs.get("rebound_resolved_tier"),
        inputs.get("rebound_reports"),
    )
    if isinstance(case_id, str) and isinstance(tier, str) and isinstance(reports, int):
        rebound = Rebound(case_id, Tier(tier), reports)
    return Situation(loads=loads_from_input(inputs.get("mediator_loads")), rebound=rebound)


def replay(
    reported: DisputeReported,
    recorded: CaseRouted,
    policies: Mapping[str, Policy],
    registry: Registry,
) -> CaseRouted:
    """Decide again with the policy version the recorded decision names (KeyError if that
    version is unknown), at its recorded time, with its recorded situation."""
    step = recorded.trace[0]
    policy = policies[step.policy_version]
    return route(reported, policy, registry, step.decided_at, recorded_situation(step))


Placement = tuple[Tier, str]


@dataclass(frozen=True)
class Change:
    dispute_id: str
    tracking_number: str
    town: str
    category: str
    before: Placement
    after: Placement
    rule_before: str
    rule_after: str


@dataclass
class WhatIf:
    disputes: int = 0
    changes: list[Change] = field(default_factory=list)
    per_cell: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Disputes per (town, category), changed or not."""

    @property
    def tier_changes(self) -> int:
        return sum(1 for c in self.changes if c.before[0] != c.after[0])

    @property
    def unit_only_changes(self) -> int:
        return sum(1 for c in self.changes if c.before[0] == c.after[0])


class _Replayer:
    """Routes a history under one policy, keeping its own rebound links as it goes."""

    def __init__(self, policy: Policy, registry: Registry, resolved: list[CaseResolved]) -> None:
        self.policy = policy
        self.registry = registry
        self.rebounds = ReboundModel()
        for event in resolved:
            self.rebounds.resolved(event.case_id, event.tier, event.occurred_at, event.match_keys)

    def route(self, reported: DisputeReported) -> CaseRouted:
        at = reported.occurred_at
        rebound = self.rebounds.match(reported.dispute, at, self.policy.rebound.window)
        situation = Situation(rebound=rebound) if rebound else NO_HISTORY
        routed = route(reported, self.policy, self.registry, at, situation)
        if routed.rebound_of:
            self.rebounds.reported(routed.rebound_of, routed.case_id, at)
        return routed


def what_if(
    reports: Iterable[DisputeReported],
    resolved: list[CaseResolved],
    current: Policy,
    candidate: Policy,
    registry: Registry,
) -> WhatIf:
    """Route every report under both policies in report order; count tier or unit changes.
    Loads are left out: who inside the unit would take a case is not what a policy changes."""
    now, then = (_Replayer(p, registry, resolved) for p in (current, candidate))
    result = WhatIf()
    seen: set[str] = set()
    for reported in sorted(reports, key=lambda r: (r.occurred_at, r.dispute.dispute_id)):
        dispute = reported.dispute
        if dispute.dispute_id in seen:
            continue
        seen.add(dispute.dispute_id)
        before, after = now.route(reported), then.route(reported)
        place = locate(dispute, registry)
        town = (place.parent_id if place is not None else None) or "unknown"
        cell = (town, dispute.category.value)
        result.disputes += 1
        result.per_cell[cell] += 1
        if (before.tier, before.unit_id) != (after.tier, after.unit_id):
            result.changes.append(
                Change(
                    dispute_id=dispute.dispute_id,
                    tracking_number=dispute.tracking_number,
                    town=town,
                    category=dispute.category.value,
                    before=(before.tier, before.unit_id),
                    after=(after.tier, after.unit_id),
                    rule_before=before.trace[0].rule,
                    rule_after=after.trace[0].rule,
                )
            )
    return result
