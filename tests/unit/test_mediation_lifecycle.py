"""Table tests of the case lifecycle: every legal and every illegal transition."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contracts.events import (
    AgreementFollowedUp,
    AlertRaised,
    CaseAccepted,
    CaseAssigned,
    CaseEscalationRequested,
    CaseFailed,
    CaseReferred,
    CaseReopened,
    CaseResolved,
    CaseWithdrawn,
    MediationSessionHeld,
    ReturnVisitRecorded,
)
from contracts.vocabulary import (
    AgreementForm,
    AlertKind,
    CaseState,
    EscalationReason,
    ReferralTarget,
    Satisfaction,
    Tier,
)
from mediation import lifecycle as lc
from mediation.models import case_document, case_of
from tests.factories import routed

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
MEDIATOR = "med-hanyin-shuangru-jianghe-1"
S = CaseState


def a_case(state: CaseState = S.ASSIGNED, **changes: object) -> lc.Case:
    decision = routed(occurred_at=NOW)
    case = case_of(case_document(decision))
    if "tier" in changes:  # in Hanyin the county is the top of every ladder
        changes.setdefault("top", changes["tier"] is Tier.COUNTY)
    return replace(case, state=state, **changes)  # type: ignore[arg-type]


COMMANDS: dict[str, lc.Command] = {
    "accept": lc.Accept(MEDIATOR, NOW),
    "hold_session": lc.HoldSession(MEDIATOR, NOW, NOW, ("张三", "李四"), "谈了"),
    "resolve": lc.Resolve(MEDIATOR, NOW, AgreementForm.WRITTEN, "赔偿500元"),
    "fail": lc.Fail(MEDIATOR, NOW, "双方不让步"),
    "refer": lc.Refer(MEDIATOR, NOW, ReferralTarget.COURT, "起诉"),
    "withdraw": lc.Withdraw(MEDIATOR, NOW, "自行和解"),
    "follow_up": lc.FollowUp(MEDIATOR, NOW, fulfilled=True),
    "visit": lc.RecordVisit(MEDIATOR, NOW, Satisfaction.SATISFIED),
    "reopen": lc.Reopen("new-dispute", NOW),
}

LEGAL: dict[tuple[CaseState, str], tuple[CaseState, tuple[type, ...]]] = {
    (S.ASSIGNED, "accept"): (S.ACCEPTED, (CaseAccepted,)),
    (S.REOPENED, "accept"): (S.ACCEPTED, (CaseAccepted,)),
    (S.ACCEPTED, "hold_session"): (S.IN_MEDIATION, (MediationSessionHeld,)),
    (S.IN_MEDIATION, "hold_session"): (S.IN_MEDIATION, (MediationSessionHeld,)),
    (S.ACCEPTED, "resolve"): (S.RESOLVED, (CaseResolved,)),
    (S.IN_MEDIATION, "resolve"): (S.RESOLVED, (CaseResolved,)),
    (S.ACCEPTED, "fail"): (S.FAILED, (CaseFailed, CaseEscalationRequested)),
    (S.IN_MEDIATION, "fail"): (S.FAILED, (CaseFailed, CaseEscalationRequested)),
    (S.ACCEPTED, "refer"): (S.REFERRED, (CaseReferred,)),
    (S.IN_MEDIATION, "refer"): (S.REFERRED, (CaseReferred,)),
    (S.ASSIGNED, "withdraw"): (S.WITHDRAWN, (CaseWithdrawn,)),
    (S.ACCEPTED, "withdraw"): (S.WITHDRAWN, (CaseWithdrawn,)),
    (S.IN_MEDIATION, "withdraw"): (S.WITHDRAWN, (CaseWithdrawn,)),
    (S.REOPENED, "withdraw"): (S.WITHDRAWN, (CaseWithdrawn,)),
    (S.RESOLVED, "follow_up"): (S.RESOLVED, (AgreementFollowedUp,)),
    (S.RESOLVED, "visit"): (S.RESOLVED, (ReturnVisitRecorded,)),
    (S.RESOLVED, "reopen"): (S.REOPENED, (CaseReopened, AlertRaised)),
}

ILLEGAL = [
    (state, action) for state in CaseState for action in COMMANDS if (state, action) not in LEGAL
]


@pytest.mark.parametrize(("state", "action"), sorted(LEGAL))
def test_legal_transition(state: CaseState, action: str) -> None:
    target, types = LEGAL[(state, action)]
    decision = lc.decide(a_case(state), COMMANDS[action])
    assert decision.changes.get("state", state.value) == target.value
    assert tuple(type(event) for event in decision.events) == types
    assert decision.timeline


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_illegal_transition_names_state_and_allowed_actions(state: CaseState, action: str) -> None:
    case = a_case(state)
    with pytest.raises(lc.IllegalTransitionError) as refused:
        lc.decide(case, COMMANDS[action])
    assert refused.value.state is state
    assert refused.value.allowed == lc.allowed_actions(case)
    assert state.value in str(refused.value)
    assert action not in refused.value.allowed


def test_allowed_actions_per_state() -> None:
    assert lc.allowed_actions(a_case(S.ASSIGNED)) == ["accept", "withdraw"]
    working = ["hold_session", "resolve", "fail", "refer", "withdraw"]
    assert lc.allowed_actions(a_case(S.ACCEPTED)) == working
    assert lc.allowed_actions(a_case(S.IN_MEDIATION)) == working
    assert lc.allowed_actions(a_case(S.RESOLVED)) == ["follow_up", "visit"]
    for closed in (S.FAILED, S.REFERRED, S.WITHDRAWN):
        assert lc.allowed_actions(a_case(closed)) == []


def test_follow_up_and_visit_happen_once() -> None:
    case = a_case(S.RESOLVED, followed_up=True, visited=True)
    for action in ("follow_up", "visit"):
        with pytest.raises(lc.IllegalTransitionError):
            lc.decide(case, COMMANDS[action])


def test_nothing_but_waiting_while_handed_up() -> None:
    case = a_case(S.ACCEPTED, awaiting_reroute=True)
    assert lc.allowed_actions(case) == []
    with pytest.raises(lc.IllegalTransitionError, match="router"):
        lc.decide(case, COMMANDS["resolve"])


def test_failure_asks_for_escalation_with_dispute_and_trace() -> None:
    case = a_case(S.IN_MEDIATION)
    _failed, escalation = lc.decide(case, COMMANDS["fail"]).events
    assert isinstance(escalation, CaseEscalationRequested)
    assert escalation.reason is EscalationReason.FAILED
    assert (escalation.routing_seq, escalation.dispute, escalation.trace) == (
        1,
        case.dispute,
        case.trace,
    )


def test_event_ids_are_deterministic_per_version() -> None:
    case = a_case(S.ASSIGNED)
    first = lc.decide(case, COMMANDS["accept"]).events[0]
    again = lc.decide(case, lc.Accept(MEDIATOR, NOW + timedelta(seconds=5))).events[0]
    later = lc.decide(replace(case, version=2), COMMANDS["accept"]).events[0]
    assert first.event_id == again.event_id != later.event_id


def test_accept_and_resolve_tell_whether_on_time() -> None:
    case = a_case(S.ASSIGNED)
    late = case.acceptance_due_at + timedelta(seconds=1)
    accepted = lc.decide(case, lc.Accept(MEDIATOR, late)).events[0]
    assert isinstance(accepted, CaseAccepted)
    assert accepted.on_time is False
    resolved = lc.decide(a_case(S.IN_MEDIATION), COMMANDS["resolve"]).events[0]
    assert isinstance(resolved, CaseResolved)
    assert resolved.on_time is True


def test_acceptance_breach_escalates_once_and_waits_for_the_router() -> None:
    case = a_case(S.ASSIGNED)
    after = case.acceptance_due_at + timedelta(seconds=1)
    with pytest.raises(lc.IllegalTransitionError):
        lc.decide(case, lc.CheckDeadlines(case.acceptance_due_at - timedelta(seconds=1)))
    decision = lc.decide(case, lc.CheckDeadlines(after))
    escalation, alert = decision.events
    assert isinstance(escalation, CaseEscalationRequested)
    assert escalation.reason is EscalationReason.ACCEPTANCE_BREACH
    assert isinstance(alert, AlertRaised)
    assert (alert.kind, alert.unit_id) == (AlertKind.DEADLINE_BREACH, case.place_id)
    assert alert.title_code == "acceptance_missed"
    assert decision.changes["next_deadline_at"] is None
    assert decision.changes["awaiting_reroute"] is True
    escalated = replace(case, breaches=decision.changes["breaches"], awaiting_reroute=True)
    with pytest.raises(lc.IllegalTransitionError):
        lc.decide(escalated, lc.CheckDeadlines(after + timedelta(days=30)))


def test_county_breach_alerts_and_keeps_the_resolution_clock() -> None:
    case = a_case(S.ASSIGNED, tier=Tier.COUNTY)
    decision = lc.decide(case, lc.CheckDeadlines(case.acceptance_due_at))
    assert decision.changes["awaiting_reroute"] is False
    assert decision.changes["next_deadline_at"] == case.resolution_due_at
    breached = replace(case, breaches=decision.changes["breaches"])
    resolution = lc.decide(breached, lc.CheckDeadlines(case.resolution_due_at)).events[0]
    assert isinstance(resolution, CaseEscalationRequested)
    assert resolution.reason is EscalationReason.RESOLUTION_BREACH


def test_reroute_moves_the_case_up_and_ignores_stale_routings() -> None:
    case = a_case(S.FAILED, awaiting_reroute=True)
    town = routed(occurred_at=NOW).model_copy(
        update={
            "case_id": case.case_id,
            "routing_seq": 2,
            "tier": Tier.TOWN,
            "unit_id": "hanyin-shuangru",
        }
    )
    decision = lc.decide(case, lc.Reroute(town))
    assert decision.changes["state"] == "assigned"
    assert (decision.changes["tier"], decision.changes["unit_id"]) == ("town", "hanyin-shuangru")
    assert decision.changes["awaiting_reroute"] is False
    (assigned,) = decision.events
    assert isinstance(assigned, CaseAssigned)
    assert assigned.routing_seq == 2
    for stale in (replace(case, routing_seq=2), replace(case, state=S.RESOLVED)):
        with pytest.raises(lc.IllegalTransitionError):
            lc.decide(stale, lc.Reroute(town))
