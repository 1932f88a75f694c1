"""The case lifecycle as a pure state machine: a command and the case in, events and changes out.

No I/O here. Every command either returns a `Decision` (the events announcing it, the fields to
change and the timeline entries to append) or raises `IllegalTransitionError` naming the current
state and what may be done instead. The store writes a decision in one conditional update.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from contracts.events import (
    AgreementFollowedUp,
    AlertRaised,
    CaseAccepted,
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
    Event,
    MediationSessionHeld,
    ReportJoined,
    ReturnVisitRecorded,
    RoutingStep,
    deterministic_event_id,
    is_top,
)
from contracts.registry import in_force
from contracts.vocabulary import (
    AgreementForm,
    AlertKind,
    AlertTitle,
    CaseState,
    EscalationReason,
    Priority,
    ReferralTarget,
    Satisfaction,
    Tier,
)

S = CaseState
OPEN = frozenset({S.ASSIGNED, S.ACCEPTED, S.IN_MEDIATION, S.REOPENED})
WORKING = frozenset({S.ACCEPTED, S.IN_MEDIATION})
WAITING = frozenset({S.ASSIGNED, S.REOPENED})
"""Waiting for a mediator to accept."""
REROUTABLE = frozenset({*OPEN, S.FAILED})
"""A closed case (resolved, referred, withdrawn) is not moved by a late re-route."""

MEDIATOR_ACTIONS = (
    "accept",
    "hold_session",
    "resolve",
    "fail",
    "refer",
    "withdraw",
    "follow_up",
    "visit",
)


WHY_REFUSED = {
    "already_assigned": "it is assigned to that mediator already",
    "awaiting_reroute": "waiting for the router to move it one tier up",
    "busy": "changed by someone else at the same time; try again",
    "joined": "the report joined this case already",
    "no_deadline_passed": "no deadline passed",
    "stale_routing": "stale routing",
}
"""Why an action is refused beyond the state itself: a code (translated by the consoles), and
its English."""


class IllegalTransitionError(Exception):
    def __init__(
        self, action: str, state: CaseState, allowed: list[str], why: str | None = None
    ) -> None:
        self.action = action
        self.state = state
        self.allowed = allowed
        self.why = why
        detail = f": {WHY_REFUSED[why]}" if why else ""
        super().__init__(f"cannot {action} a case in state {state.value}{detail}")


class NotAssignedError(Exception):
    """A mediator acting on a case another mediator holds: only a reassignment moves it."""

    def __init__(self, action: str, mediator_id: str, assigned_to: str) -> None:
        super().__init__(
            f"cannot {action}: the case is assigned to {assigned_to}, not {mediator_id}"
        )
        self.action = action
        self.mediator_id = mediator_id
        self.assigned_to = assigned_to


MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far a client's clock may run ahead of ours."""
DEFAULT_BACKDATE_GRACE = timedelta(hours=24)


class MisdatedError(Exception):
    """A mediator's date that may not be recorded (`at`, or a session's `held_at`): a
    `FieldProblem` code, and its English."""

    def __init__(self, code: str, message: str, *, field: str = "at", **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.params = params


@dataclass(frozen=True)
class Dating:
    """What a mediator may date an action at: sessions are recorded after they are held, so
    up to `backdate_grace` back, but never before what the case already records (an acceptance
    dated before its assignment would fake a timely one) and never ahead of `now`."""

    now: datetime
    backdate_grace: timedelta = DEFAULT_BACKDATE_GRACE
    clock_skew: timedelta = MAX_CLOCK_SKEW


@dataclass(frozen=True)
class Case:
    """What the state machine needs to know of a stored case."""

    case_id: str
    correlation_id: str
    state: CaseState
    version: int
    tier: Tier
    unit_id: str
    mediator_id: str | None
    routing_seq: int
    priority: Priority
    urgent: bool
    acceptance_due_at: datetime
    resolution_due_at: datetime
    dispute: Dispute
    trace: tuple[RoutingStep, ...]
    sessions: int = 0
    followed_up: bool = False
    visited: bool = False
    awaiting_reroute: bool = False
    breaches: tuple[str, ...] = ()
    origin_tier: Tier | None = None
    started_at: datetime | None = None
    last_entry_at: datetime | None = None
    """When the latest timeline entry happened: nothing recorded later may be dated before."""
    joined: tuple[str, ...] = ()
    """Reports of the same dispute that joined this open case (rebounds while it was open)."""
    top: bool | None = None
    """The unit is the top of the case's ladder (None: stored before prefectures, when the
    county was the top)."""

    @property
    def at_top(self) -> bool:
        """Nowhere higher to go: failing or missing a deadline here only alerts."""
        return is_top(self.tier, self.top)

    @property
    def place_id(self) -> str:
        """Where it happened: alerts go to this unit and every unit above it."""
        return self.dispute.village_id or self.unit_id


@dataclass(frozen=True)
class Decision:
    events: tuple[Event, ...]
    changes: dict[str, Any]
    timeline: tuple[dict[str, Any], ...]


# ---- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accept:
    mediator_id: str
    at: datetime
    action = "accept"


@dataclass(frozen=True)
class HoldSession:
    mediator_id: str
    at: datetime
    held_at: datetime
    participants: tuple[str, ...]
    notes: str = ""
    action = "hold_session"


@dataclass(frozen=True)
class Resolve:
    mediator_id: str
    at: datetime
    agreement: AgreementForm
    summary: str = ""
    action = "resolve"


@dataclass(frozen=True)
class Fail:
    mediator_id: str
    at: datetime
    reason: str = ""
    action = "fail"


@dataclass(frozen=True)
class Refer:
    mediator_id: str
    at: datetime
    referred_to: ReferralTarget
    notes: str = ""
    action = "refer"


@dataclass(frozen=True)
class Withdraw:
    mediator_id: str
    at: datetime
    reason: str = ""
    action = "withdraw"


@dataclass(frozen=True)
class FollowUp:
    mediator_id: str
    at: datetime
    fulfilled: bool
    notes: str = ""
    action = "follow_up"


@dataclass(frozen=True)
class RecordVisit:
    mediator_id: str
    at: datetime
    satisfaction: Satisfaction
    notes: str = ""
    action = "visit"


@dataclass(frozen=True)
class Reassign:
    """A supervisor, or the unit's lead, hands an open case to another of the unit's mediators;
    the case's contacts go with it (only the assignee opens them)."""

    mediator_id: str
    by: str
    at: datetime
    action = "reassign"


@dataclass(frozen=True)
class Reopen:
    """A new report of a resolved dispute (a rebound) reopens the case."""

    rebound_dispute_id: str
    at: datetime
    action = "reopen"


@dataclass(frozen=True)
class JoinReport:
    """Another rebound of the dispute while its chain has this case open: the report joins
    it instead of opening a parallel case."""

    report: CaseRouted
    action = "join_report"


@dataclass(frozen=True)
class Reroute:
    """The router placed the case again (one tier up, after an escalation)."""

    routed: CaseRouted
    action = "reroute"


@dataclass(frozen=True)
class CheckDeadlines:
    """The sweeper's command: escalate a deadline that has passed, once per routing."""

    at: datetime
    action = "escalate"


MediatorCommand = Accept | HoldSession | Resolve | Fail | Refer | Withdraw | FollowUp | RecordVisit
"""What a mediator does, dated by them (`at`)."""
Command = MediatorCommand | Reassign | Reopen | JoinReport | Reroute | CheckDeadlines


# ---- what is allowed --------------------------------------------------------------------------


def _allows(case: Case, action: str) -> bool:
    if action in MEDIATOR_ACTIONS and case.awaiting_reroute:
        return False
    rules: dict[str, Callable[[Case], bool]] = {
        "accept": lambda c: c.state in WAITING,
        "hold_session": lambda c: c.state in WORKING,
        "resolve": lambda c: c.state in WORKING,
        "fail": lambda c: c.state in WORKING,
        "refer": lambda c: c.state in WORKING,
        "withdraw": lambda c: c.state in OPEN,
        "follow_up": lambda c: c.state is S.RESOLVED and not c.followed_up,
        "visit": lambda c: c.state is S.RESOLVED and not c.visited,
        "reopen": lambda c: c.state is S.RESOLVED,
        "reassign": lambda c: c.state in OPEN and not c.awaiting_reroute,
        "join_report": lambda c: c.state in OPEN,
    }
    return rules[action](case)


def allowed_actions(case: Case) -> list[str]:
    """What a mediator may do with the case now, in a stable order."""
    return [action for action in MEDIATOR_ACTIONS if _allows(case, action)]


def reassignable(case: Case) -> bool:
    """An open case not on its way up a tier may change hands."""
    return _allows(case, "reassign")


def _require(case: Case, action: str) -> None:
    if not _allows(case, action):
        why = "awaiting_reroute" if case.awaiting_reroute else None
        raise IllegalTransitionError(action, case.state, allowed_actions(case), why)


# ---- who holds the case -----------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who asks, as their token says: subject, role and unit."""

    subject: str
    role: str
    unit_id: str


def check_owner(case: Case, action: str, mediator_id: str) -> None:
    """A case assigned to a mediator is acted on by that mediator alone; one without a
    mediator is taken by whoever of the unit accepts it first."""
    if case.mediator_id is not None and case.mediator_id != mediator_id:
        raise NotAssignedError(action, mediator_id, case.mediator_id)


def may_reassign(case: Case, actor: Actor, lead_id: str | None) -> bool:
    """Supervisors of the unit's subtree (the unit or any unit above it), and the unit's lead
    mediator (`lead_id`: the first of its mediators by id), hand a case to someone else."""
    if actor.role == "supervisor":
        return in_force().is_within(case.unit_id, actor.unit_id)
    if actor.role == "mediator":
        return actor.unit_id == case.unit_id and lead_id is not None and actor.subject == lead_id
    return False


# ---- deadlines --------------------------------------------------------------------------------


def breach_key(kind: str, routing_seq: int) -> str:
    return f"{kind}:{routing_seq}"


def _pending_deadlines(
    case: Case, state: CaseState, breaches: tuple[str, ...]
) -> list[tuple[datetime, EscalationReason]]:
    if state not in {S.ASSIGNED, S.ACCEPTED, S.IN_MEDIATION}:
        return []  # closed, or reopened by a rebound: no clock runs
    pending = []
    if state is S.ASSIGNED and breach_key("acceptance", case.routing_seq) not in breaches:
        pending.append((case.acceptance_due_at, EscalationReason.ACCEPTANCE_BREACH))
    if breach_key("resolution", case.routing_seq) not in breaches:
        pending.append((case.resolution_due_at, EscalationReason.RESOLUTION_BREACH))
    return sorted(pending)


def next_deadline(
    case: Case,
    state: CaseState,
    *,
    awaiting_reroute: bool = False,
    breaches: tuple[str, ...] | None = None,
) -> datetime | None:
    """The next deadline the sweeper must watch; none once handed up or closed."""
    if awaiting_reroute:
        return None
    pending = _pending_deadlines(case, state, case.breaches if breaches is None else breaches)
    return pending[0][0] if pending else None


def due_at(state: CaseState, acceptance_due_at: datetime, resolution_due_at: datetime) -> datetime:
    """Queue order's due time: acceptance until accepted, then resolution."""
    return acceptance_due_at if state in WAITING else resolution_due_at


# ---- the transitions --------------------------------------------------------------------------


def _event_id(case: Case, action: str) -> Any:
    """One id per change of one version: a re-published event duplicates nothing downstream."""
    return deterministic_event_id(case.case_id, action, str(case.version))


def case_facts(case: Case) -> dict[str, Any]:
    """What every lifecycle event repeats about the case, so the metrics need no lookup."""
    return {
        "origin_tier": case.origin_tier,
        "started_at": case.started_at,
        "channel": case.dispute.channel,
        "category": case.dispute.category,
    }


def _envelope(case: Case, action: str, at: datetime) -> dict[str, Any]:
    return {
        "event_id": _event_id(case, action),
        "occurred_at": at,
        "correlation_id": case.correlation_id,
        "case_id": case.case_id,
        "tier": case.tier,
        "unit_id": case.unit_id,
        **case_facts(case),
    }


TimelineEvent = Literal[
    "assigned",
    "accepted",
    "session_held",
    "resolved",
    "failed",
    "escalation_requested",
    "referred",
    "withdrawn",
    "agreement_followed_up",
    "return_visit",
    "reopened",
    "reassigned",
    "rebound_joined",
]
"""What a timeline entry records; the case page words each (`timeline.<event>`)."""


def _entry(case: Case, event: TimelineEvent, at: datetime, **details: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "at": at,
        "event": event,
        "tier": case.tier.value,
        "unit_id": case.unit_id,
    }
    entry["routing_seq"] = case.routing_seq
    entry.update({k: v for k, v in details.items() if v is not None})
    return entry


def _moved(case: Case, state: CaseState, **changes: Any) -> dict[str, Any]:
    """Field changes for a move to `state`, with the deadline fields kept consistent."""
    awaiting = changes.get("awaiting_reroute", case.awaiting_reroute)
    breaches = changes.get("breaches", case.breaches)
    changes.update(
        state=state.value,
        due_at=due_at(state, case.acceptance_due_at, case.resolution_due_at),
        next_deadline_at=next_deadline(case, state, awaiting_reroute=awaiting, breaches=breaches),
    )
    return changes


def _accept(case: Case, cmd: Accept) -> Decision:
    on_time = cmd.at <= case.acceptance_due_at
    event = CaseAccepted(
        **_envelope(case, "accepted", cmd.at), mediator_id=cmd.mediator_id, on_time=on_time
    )
    entry = _entry(case, "accepted", cmd.at, mediator_id=cmd.mediator_id, on_time=on_time)
    changes = _moved(case, S.ACCEPTED, mediator_id=cmd.mediator_id, accepted_at=cmd.at)
    return Decision((event,), changes, (entry,))


def _hold_session(case: Case, cmd: HoldSession) -> Decision:
    number = case.sessions + 1
    event = MediationSessionHeld(
        **_envelope(case, "session", cmd.at),
        mediator_id=cmd.mediator_id,
        session_no=number,
        held_at=cmd.held_at,
        participants=cmd.participants,
        notes=cmd.notes,
    )
    entry = _entry(
        case,
        "session_held",
        cmd.at,
        mediator_id=cmd.mediator_id,
        session_no=number,
        held_at=cmd.held_at,
        participants=list(cmd.participants),
        notes=cmd.notes,
    )
    return Decision((event,), _moved(case, S.IN_MEDIATION, sessions=number), (entry,))


def _resolve(case: Case, cmd: Resolve) -> Decision:
    on_time = cmd.at <= case.resolution_due_at
    event = CaseResolved(
        **_envelope(case, "resolved", cmd.at),
        mediator_id=cmd.mediator_id,
        agreement=cmd.agreement,
        summary=cmd.summary,
        on_time=on_time,
        match_keys=case.dispute.match_keys(),
    )
    entry = _entry(
        case,
        "resolved",
        cmd.at,
        mediator_id=cmd.mediator_id,
        agreement=cmd.agreement.value,
        summary=cmd.summary,
        on_time=on_time,
    )
    changes = _moved(case, S.RESOLVED, resolved_at=cmd.at, followed_up=False, visited=False)
    return Decision((event,), changes, (entry,))


def escalation_request(
    case: Case, reason: EscalationReason, at: datetime
) -> CaseEscalationRequested:
    return CaseEscalationRequested(
        event_id=deterministic_event_id(
            case.case_id, "escalation", reason.value, str(case.routing_seq)
        ),
        occurred_at=at,
        correlation_id=case.correlation_id,
        case_id=case.case_id,
        tier=case.tier,
        unit_id=case.unit_id,
        mediator_id=case.mediator_id,
        reason=reason,
        routing_seq=case.routing_seq,
        dispute=case.dispute,
        trace=case.trace,
        top=case.top,
        **case_facts(case),
    )


def _fail(case: Case, cmd: Fail) -> Decision:
    failed = CaseFailed(
        **_envelope(case, "failed", cmd.at), mediator_id=cmd.mediator_id, reason=cmd.reason
    )
    escalation = escalation_request(case, EscalationReason.FAILED, cmd.at)
    entries = (
        _entry(case, "failed", cmd.at, mediator_id=cmd.mediator_id, reason=cmd.reason),
        _entry(case, "escalation_requested", cmd.at, reason=EscalationReason.FAILED.value),
    )
    changes = _moved(case, S.FAILED, awaiting_reroute=not case.at_top)
    return Decision((failed, escalation), changes, entries)


def _refer(case: Case, cmd: Refer) -> Decision:
    event = CaseReferred(
        **_envelope(case, "referred", cmd.at),
        mediator_id=cmd.mediator_id,
        referred_to=cmd.referred_to,
        notes=cmd.notes,
    )
    entry = _entry(
        case,
        "referred",
        cmd.at,
        mediator_id=cmd.mediator_id,
        referred_to=cmd.referred_to.value,
        notes=cmd.notes,
    )
    return Decision((event,), _moved(case, S.REFERRED), (entry,))


def _withdraw(case: Case, cmd: Withdraw) -> Decision:
    event = CaseWithdrawn(
        **_envelope(case, "withdrawn", cmd.at), mediator_id=cmd.mediator_id, reason=cmd.reason
    )
    entry = _entry(case, "withdrawn", cmd.at, mediator_id=cmd.mediator_id, reason=cmd.reason)
    return Decision((event,), _moved(case, S.WITHDRAWN), (entry,))


def _follow_up(case: Case, cmd: FollowUp) -> Decision:
    event = AgreementFollowedUp(
        **_envelope(case, "followed_up", cmd.at),
        mediator_id=cmd.mediator_id,
        fulfilled=cmd.fulfilled,
        notes=cmd.notes,
    )
    entry = _entry(
        case,
        "agreement_followed_up",
        cmd.at,
        mediator_id=cmd.mediator_id,
        fulfilled=cmd.fulfilled,
        notes=cmd.notes,
    )
    return Decision((event,), {"followed_up": True, "fulfilled": cmd.fulfilled}, (entry,))


def _visit(case: Case, cmd: RecordVisit) -> Decision:
    event = ReturnVisitRecorded(
        **_envelope(case, "visited", cmd.at),
        mediator_id=cmd.mediator_id,
        satisfaction=cmd.satisfaction,
        notes=cmd.notes,
    )
    entry = _entry(
        case,
        "return_visit",
        cmd.at,
        mediator_id=cmd.mediator_id,
        satisfaction=cmd.satisfaction.value,
        notes=cmd.notes,
    )
    return Decision((event,), {"visited": True, "satisfaction": cmd.satisfaction.value}, (entry,))


def _reassign(case: Case, cmd: Reassign) -> Decision:
    if cmd.mediator_id == case.mediator_id:
        raise IllegalTransitionError(
            "reassign", case.state, allowed_actions(case), "already_assigned"
        )
    event = CaseReassigned(
        **_envelope(case, "reassigned", cmd.at),
        mediator_id=cmd.mediator_id,
        previous_mediator_id=case.mediator_id,
        by=cmd.by,
        routing_seq=case.routing_seq,
    )
    entry = _entry(
        case,
        "reassigned",
        cmd.at,
        mediator_id=cmd.mediator_id,
        previous_mediator_id=case.mediator_id,
        by=cmd.by,
    )
    return Decision((event,), {"mediator_id": cmd.mediator_id}, (entry,))


def _alert(
    case: Case,
    kind: AlertKind,
    key: str,
    at: datetime,
    title: tuple[AlertTitle, str],
    **details: Any,
) -> AlertRaised:
    alert_id = f"{kind.value}/{case.case_id}/{key}"
    return AlertRaised(
        event_id=deterministic_event_id("alert", alert_id),
        occurred_at=at,
        correlation_id=case.correlation_id,
        alert_id=alert_id,
        kind=kind,
        priority=Priority.URGENT if kind is not AlertKind.REBOUND else Priority.HIGH,
        unit_id=case.place_id,
        case_id=case.case_id,
        tier=case.tier,
        title_code=title[0],
        title=title[1],
        details={"tracking_number": case.dispute.tracking_number, **details},
    )


def _reopen(case: Case, cmd: Reopen) -> Decision:
    reopened = CaseReopened(
        event_id=deterministic_event_id(case.case_id, "reopened", cmd.rebound_dispute_id),
        occurred_at=cmd.at,
        correlation_id=case.correlation_id,
        case_id=case.case_id,
        tier=case.tier,
        unit_id=case.unit_id,
        mediator_id=case.mediator_id,
        rebound_dispute_id=cmd.rebound_dispute_id,
        **case_facts(case),
    )
    alert = _alert(
        case,
        AlertKind.REBOUND,
        cmd.rebound_dispute_id,
        cmd.at,
        (AlertTitle.REBOUND, "纠纷反弹：已化解案件被再次反映 (rebound of a resolved case)"),
        rebound_dispute_id=cmd.rebound_dispute_id,
        resolved_by_unit=case.unit_id,
    )
    entry = _entry(case, "reopened", cmd.at, rebound_dispute_id=cmd.rebound_dispute_id)
    return Decision((reopened, alert), _moved(case, S.REOPENED), (entry,))


def _join_report(case: Case, cmd: JoinReport) -> Decision:
    report = cmd.report
    rebound_of = report.rebound_of or case.case_id
    if report.case_id in case.joined:
        raise IllegalTransitionError("join_report", case.state, allowed_actions(case), "joined")
    joined = ReportJoined(
        event_id=deterministic_event_id(report.case_id, "joined", case.case_id),
        occurred_at=report.occurred_at,
        correlation_id=report.correlation_id,
        case_id=report.case_id,
        tier=case.tier,
        unit_id=case.unit_id,
        mediator_id=case.mediator_id,
        joined_to=case.case_id,
        rebound_of=rebound_of,
        tracking_number=report.dispute.tracking_number,
        **case_facts(case),
    )
    alert = _alert(
        case,
        AlertKind.REBOUND,
        report.case_id,
        report.occurred_at,
        (AlertTitle.REBOUND, "纠纷反弹：已化解案件被再次反映 (rebound of a resolved case)"),
        rebound_dispute_id=report.case_id,
        resolved_by_unit=case.unit_id,
    )
    entry = _entry(
        case,
        "rebound_joined",
        report.occurred_at,
        rebound_dispute_id=report.case_id,
        rebound_tracking_number=report.dispute.tracking_number,
        rebound_of=rebound_of,
    )
    changes = {"joined_reports": [*case.joined, report.case_id]}
    return Decision((joined, alert), changes, (entry,))


def _check_deadlines(case: Case, cmd: CheckDeadlines) -> Decision:
    pending = [] if case.awaiting_reroute else _pending_deadlines(case, case.state, case.breaches)
    passed = [reason for due, reason in pending if due <= cmd.at]
    if not passed:
        raise IllegalTransitionError(
            "escalate", case.state, allowed_actions(case), "no_deadline_passed"
        )
    reason = passed[0]
    kind = "acceptance" if reason is EscalationReason.ACCEPTANCE_BREACH else "resolution"
    due = case.acceptance_due_at if kind == "acceptance" else case.resolution_due_at
    escalation = escalation_request(case, reason, cmd.at)
    alert = _alert(
        case,
        AlertKind.DEADLINE_BREACH,
        f"{case.routing_seq}/{kind}",
        cmd.at,
        (
            AlertTitle.ACCEPTANCE_MISSED if kind == "acceptance" else AlertTitle.RESOLUTION_MISSED,
            f"案件超期未{'受理' if kind == 'acceptance' else '化解'} ({kind} deadline missed)",
        ),
        deadline=kind,
        due_at=due.isoformat(),
        routing_seq=case.routing_seq,
    )
    breaches = (*case.breaches, breach_key(kind, case.routing_seq))
    awaiting = not case.at_top  # the top of the ladder only alerts
    changes = _moved(case, case.state, breaches=breaches, awaiting_reroute=awaiting)
    entry = _entry(case, "escalation_requested", cmd.at, reason=reason.value, due_at=due)
    return Decision((escalation, alert), changes, (entry,))


def assigned_event(routed: CaseRouted) -> CaseAssigned:
    """Same routing, same event id: re-announcing after a crash duplicates nothing downstream.
    Where the case started is the first step of the trace (oldest first)."""
    first = routed.trace[0] if routed.trace else None
    return CaseAssigned(
        origin_tier=first.tier if first else routed.tier,
        started_at=first.decided_at if first else routed.occurred_at,
        channel=routed.dispute.channel,
        category=routed.dispute.category,
        event_id=deterministic_event_id(routed.case_id, "assigned", str(routed.routing_seq)),
        occurred_at=routed.occurred_at,
        correlation_id=routed.correlation_id,
        case_id=routed.case_id,
        routing_seq=routed.routing_seq,
        tracking_number=routed.dispute.tracking_number,
        tier=routed.tier,
        unit_id=routed.unit_id,
        mediator_id=routed.mediator_id,
        priority=routed.priority,
        acceptance_due_at=routed.acceptance_due_at,
    )


def assignment_fields(routed: CaseRouted) -> dict[str, Any]:
    """The fields a routing decides, for a new case and for a re-route alike."""
    return {
        "state": S.ASSIGNED.value,
        "tier": routed.tier.value,
        "unit_id": routed.unit_id,
        "mediator_id": routed.mediator_id,
        "priority": routed.priority.value,
        "priority_rank": routed.priority.rank,
        "urgent": routed.urgent,
        "acceptance_due_at": routed.acceptance_due_at,
        "resolution_due_at": routed.resolution_due_at,
        "due_at": routed.acceptance_due_at,
        "next_deadline_at": min(routed.acceptance_due_at, routed.resolution_due_at),
        "routing_seq": routed.routing_seq,
        "trace": [step.model_dump(mode="json") for step in routed.trace],
        "awaiting_reroute": False,
        "top": routed.top,
    }


_ASSIGNED: TimelineEvent = "assigned"


def assignment_entry(routed: CaseRouted) -> dict[str, Any]:
    return {
        "at": routed.occurred_at,
        "event": _ASSIGNED,
        "tier": routed.tier.value,
        "unit_id": routed.unit_id,
        "mediator_id": routed.mediator_id,
        "routing_seq": routed.routing_seq,
    }


def _reroute(case: Case, cmd: Reroute) -> Decision:
    routed = cmd.routed
    if routed.routing_seq <= case.routing_seq or case.state not in REROUTABLE:
        raise IllegalTransitionError("reroute", case.state, allowed_actions(case), "stale_routing")
    return Decision(
        (assigned_event(routed),), assignment_fields(routed), (assignment_entry(routed),)
    )


_HANDLERS: dict[type[Any], Callable[[Case, Any], Decision]] = {
    Accept: _accept,
    HoldSession: _hold_session,
    Resolve: _resolve,
    Fail: _fail,
    Refer: _refer,
    Withdraw: _withdraw,
    FollowUp: _follow_up,
    RecordVisit: _visit,
    Reassign: _reassign,
    Reopen: _reopen,
    JoinReport: _join_report,
    Reroute: _reroute,
    CheckDeadlines: _check_deadlines,
}

_CHECKED_HERE = frozenset({"reroute", "escalate"})
"""These decide legality themselves: they depend on more than the state."""


def check_dated(case: Case, at: datetime, dating: Dating) -> None:
    """Refuse an `at` in the future, too far back, or before the case's last entry. Another
    host's clock may run ahead of ours: an entry dated after `now` holds `at` back only to `now`."""
    if at > dating.now + dating.clock_skew:
        raise MisdatedError("in_future", "lies in the future")
    earliest = dating.now - dating.backdate_grace
    if at < earliest:
        hours = round(dating.backdate_grace.total_seconds() / 3600, 2)
        raise MisdatedError("too_far_back", f"lies more than {hours} h back", grace_hours=hours)
    last = case.last_entry_at
    if last is not None and at < min(last, dating.now):
        raise MisdatedError(
            "before_last_entry",
            f"lies before the case's last entry ({last.isoformat()})",
            last_entry_at=last.isoformat(),
        )


def check_held(case: Case, session: HoldSession, dating: Dating) -> None:
    """A session is held before it is recorded, and not long before the case began (on the
    spot, say, before the report was filed), nor before the dispute itself: a date outside
    that would fake the work done on the case."""
    if session.held_at > min(session.at, dating.now) + dating.clock_skew:
        raise MisdatedError("in_future", "lies after the session was recorded", field="held_at")
    began = case.started_at - dating.backdate_grace if case.started_at else None
    incident = case.dispute.incident_at
    earliest = max((t for t in (began, incident) if t is not None), default=None)
    if earliest is not None and session.held_at < earliest:
        raise MisdatedError(
            "before_case",
            f"lies before the dispute could be mediated ({earliest.isoformat()})",
            field="held_at",
            earliest=earliest.isoformat(),
        )


def decide(case: Case, command: Command, dating: Dating | None = None) -> Decision:
    """Apply one command to the case: the events it causes and the changes to store. With
    `dating`, a mediator's action is dated only where `check_dated` allows."""
    if isinstance(command, MediatorCommand):
        check_owner(case, command.action, command.mediator_id)
    if command.action not in _CHECKED_HERE:
        _require(case, command.action)
    if dating is not None and isinstance(command, MediatorCommand):
        check_dated(case, command.at, dating)
    if dating is not None and isinstance(command, HoldSession):
        check_held(case, command, dating)
    return _HANDLERS[type(command)](case, command)


def urgent_alert(routed: CaseRouted) -> AlertRaised:
    """An urgent case was stored: supervisors hear of it at once (one alert per case)."""
    flags = ", ".join(flag.value for flag in routed.dispute.risk_flags)
    alert_id = f"{AlertKind.URGENT_RISK.value}/{routed.case_id}"
    return AlertRaised(
        event_id=deterministic_event_id("alert", alert_id),
        occurred_at=routed.occurred_at,
        correlation_id=routed.correlation_id,
        alert_id=alert_id,
        kind=AlertKind.URGENT_RISK,
        priority=Priority.URGENT,
        unit_id=routed.dispute.village_id or routed.unit_id,
        case_id=routed.case_id,
        tier=routed.tier,
        title=f"紧急风险案件 (urgent risk: {flags or 'urgent'})",
        title_code=AlertTitle.URGENT_RISK,
        details={
            "tracking_number": routed.dispute.tracking_number,
            "risk_flags": [flag.value for flag in routed.dispute.risk_flags],
            "assigned_unit": routed.unit_id,
        },
    )
