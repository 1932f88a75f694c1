"""The router's small read models, in memory: open cases per mediator and per unit (which the
mediators and units admin checks before removing anyone or retiring a unit), resolutions for rebound
detection, and which units are saturated. Pure state, fed by the Kafka edge.

Why in memory, rebuilt from the topics at start rather than persisted: the topics are already
the durable log, the state is small (one entry per case, a counter per mediator, the match keys
of resolved cases), and rebuilding it is a bounded read; persisting it per batch would add a
database write to every routing decision for no gain in correctness. Every update is keyed by
case (and routing sequence), so applying an event twice, or reading the router's own decisions
and mediation's announcements of them, counts each case once.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from contracts.events import (
    CaseAssigned,
    CaseEscalationRequested,
    CaseFailed,
    CaseReassigned,
    CaseReferred,
    CaseReopened,
    CaseResolved,
    CaseRouted,
    CaseWithdrawn,
    Dispute,
    ReportJoined,
)
from contracts.vocabulary import Tier
from router.policy import Policy
from router.rules import Rebound, Situation

CLOSING = (CaseResolved, CaseFailed, CaseReferred, CaseWithdrawn, CaseEscalationRequested)


@dataclass(frozen=True)
class _Held:
    seq: int
    mediator_id: str | None
    open: bool
    unit_id: str | None = None
    """The unit holding the case, as its routing or its last lifecycle event said."""


class LoadModel:
    """Open cases per mediator and where each is held: an assignment adds one, a closing or
    escalation takes it away."""

    def __init__(self) -> None:
        self._cases: dict[str, _Held] = {}
        self._loads: Counter[str] = Counter()

    @property
    def loads(self) -> MappingProxyType[str, int]:
        return MappingProxyType(self._loads)

    def _set(self, case_id: str, held: _Held) -> None:
        before = self._cases.get(case_id)
        if before is not None and before.open and before.mediator_id:
            self._loads[before.mediator_id] -= 1
        if held.open and held.mediator_id:
            self._loads[held.mediator_id] += 1
        self._cases[case_id] = held

    def assigned(
        self, case_id: str, seq: int, mediator_id: str | None, unit_id: str | None = None
    ) -> None:
        held = self._cases.get(case_id)
        if held is not None and (seq < held.seq or (seq == held.seq and not held.open)):
            return  # an older routing, or one already closed: re-announced, not new
        self._set(case_id, _Held(seq, mediator_id, open=True, unit_id=unit_id))

    def closed(self, case_id: str, seq: int | None = None) -> None:
        held = self._cases.get(case_id)
        if held is not None and seq is not None and seq < held.seq:
            return  # the end of a routing the case has moved on from (topics read apart)
        known = held.seq if held is not None else 1
        self._set(case_id, _Held(max(seq or known, known), None, open=False))

    def reassigned(self, case_id: str, seq: int, mediator_id: str) -> None:
        """The open case moved to another mediator of its unit, at the same routing."""
        held = self._cases.get(case_id)
        if held is not None and held.open and held.seq == seq:
            self._set(case_id, _Held(seq, mediator_id, open=True, unit_id=held.unit_id))

    def open_cases_of(self, mediator_ids: set[str]) -> dict[str, list[str]]:
        """The open cases each of `mediator_ids` holds, as far as the topics have told."""
        held: dict[str, list[str]] = {}
        for case_id, entry in self._cases.items():
            if entry.open and entry.mediator_id in mediator_ids:
                held.setdefault(entry.mediator_id, []).append(case_id)
        return {mediator_id: sorted(cases) for mediator_id, cases in held.items()}

    def open_cases_at(self, unit_id: str) -> list[str]:
        """The open cases `unit_id` holds (retiring it would leave them nowhere)."""
        return sorted(
            case_id
            for case_id, entry in self._cases.items()
            if entry.open and entry.unit_id == unit_id
        )

    def reopened(self, case_id: str, mediator_id: str | None, unit_id: str | None = None) -> None:
        held = self._cases.get(case_id)
        if held is None or not held.open:
            seq = held.seq if held else 1
            self._set(case_id, _Held(seq, mediator_id, open=True, unit_id=unit_id))


@dataclass(frozen=True)
class Resolution:
    case_id: str
    tier: Tier
    at: datetime


class ReboundModel:
    """Resolved cases by match key (with time) and the re-reports each one has had since."""

    def __init__(self) -> None:
        self._by_key: dict[str, dict[tuple[str, datetime], Resolution]] = {}
        self._reports: dict[str, dict[str, datetime]] = {}

    def resolved(self, case_id: str, tier: Tier, at: datetime, keys: tuple[str, ...]) -> None:
        for key in keys:
            self._by_key.setdefault(key, {})[(case_id, at)] = Resolution(case_id, tier, at)

    def reported(self, resolved_case_id: str, report_id: str, at: datetime) -> None:
        self._reports.setdefault(resolved_case_id, {})[report_id] = at

    def match(self, dispute: Dispute, at: datetime, window: timedelta) -> Rebound | None:
        """The latest resolution of the same dispute within `window` before `at`, with the
        number of re-reports it has had up to this one. Only earlier reports count, so the
        answer does not depend on when it is asked."""
        candidates = [
            resolution
            for key in dispute.match_keys()
            for resolution in self._by_key.get(key, {}).values()
            if resolution.case_id != dispute.dispute_id
            and resolution.at < at <= resolution.at + window
        ]
        if not candidates:
            return None
        latest = max(candidates, key=lambda r: (r.at, r.case_id))
        me = (at, dispute.dispute_id)
        earlier = sum(
            1
            for report_id, reported_at in self._reports.get(latest.case_id, {}).items()
            if latest.at < reported_at and (reported_at, report_id) < me
        )
        return Rebound(latest.case_id, latest.tier, earlier + 1)


class SaturationWatch:
    """Alert once when a unit becomes saturated, not for every case while it stays so."""

    def __init__(self) -> None:
        self._saturated: set[str] = set()

    def observe(self, unit_id: str, saturated: bool) -> bool:
        """True when `unit_id` has just become saturated."""
        if not saturated:
            self._saturated.discard(unit_id)
            return False
        if unit_id in self._saturated:
            return False
        self._saturated.add(unit_id)
        return True


def reported_at_of(routed: CaseRouted) -> datetime:
    """When the report was made, as the first routing recorded it."""
    recorded = routed.trace[0].inputs.get("reported_at") if routed.trace else None
    if isinstance(recorded, str):
        return datetime.fromisoformat(recorded)
    return routed.occurred_at


class ReadModels:
    def __init__(self) -> None:
        self.load = LoadModel()
        self.rebounds = ReboundModel()
        self.saturation = SaturationWatch()

    def situation(self, dispute: Dispute, at: datetime, policy: Policy) -> Situation:
        return Situation(
            loads=self.load.loads,
            rebound=self.rebounds.match(dispute, at, policy.rebound.window),
        )

    def apply_routed(self, routed: CaseRouted) -> None:
        """A routing decision (the router's own, or read back from its topic)."""
        self.load.assigned(routed.case_id, routed.routing_seq, routed.mediator_id, routed.unit_id)
        if routed.rebound_of and routed.routing_seq == 1:
            self.rebounds.reported(routed.rebound_of, routed.case_id, reported_at_of(routed))

    def apply_lifecycle(self, event: object) -> None:
        if isinstance(event, CaseAssigned):
            self.load.assigned(event.case_id, event.routing_seq, event.mediator_id, event.unit_id)
        elif isinstance(event, CaseReopened):
            self.load.reopened(event.case_id, event.mediator_id, event.unit_id)
        elif isinstance(event, CaseReassigned):
            self.load.reassigned(event.case_id, event.routing_seq, event.mediator_id)
        elif isinstance(event, ReportJoined):
            self.load.closed(event.case_id)  # routed as a case, joined another instead
        elif isinstance(event, CLOSING):
            seq = event.routing_seq if isinstance(event, CaseEscalationRequested) else None
            self.load.closed(event.case_id, seq)
        if isinstance(event, CaseResolved):
            self.rebounds.resolved(event.case_id, event.tier, event.occurred_at, event.match_keys)
