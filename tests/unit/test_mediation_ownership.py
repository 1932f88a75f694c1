"""Who may act on a case and who may hand it to someone else: the pure rules."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from contracts.events import AlertRaised, CaseReassigned, ReportJoined
from contracts.vocabulary import CaseState
from mediation import lifecycle as lc
from mediation.models import case_document, case_of
from tests.factories import routed

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
UNIT = "hanyin-shuangru-jianghe"
HOLDER, COLLEAGUE, LEAD = f"med-{UNIT}-2", f"med-{UNIT}-3", f"med-{UNIT}-1"
S = CaseState


def held_case(state: CaseState = S.ASSIGNED, mediator_id: str | None = HOLDER) -> lc.Case:
    case = case_of(case_document(routed(occurred_at=NOW)))
    return replace(case, state=state, unit_id=UNIT, mediator_id=mediator_id)


def test_a_colleague_may_not_accept_a_case_assigned_to_someone_else() -> None:
    with pytest.raises(lc.NotAssignedError) as refused:
        lc.decide(held_case(), lc.Accept(COLLEAGUE, NOW))
    assert refused.value.assigned_to == HOLDER
    assert HOLDER in str(refused.value)


def test_nor_record_an_outcome_on_it() -> None:
    with pytest.raises(lc.NotAssignedError):
        lc.decide(held_case(S.ACCEPTED), lc.Fail(COLLEAGUE, NOW, "无"))


def test_the_holder_acts_and_an_unassigned_case_is_anyones_of_the_unit() -> None:
    assert lc.decide(held_case(), lc.Accept(HOLDER, NOW)).changes["state"] == "accepted"
    taken = lc.decide(held_case(mediator_id=None), lc.Accept(COLLEAGUE, NOW))
    assert taken.changes["mediator_id"] == COLLEAGUE


def test_reassigning_moves_the_case_and_announces_it() -> None:
    decision = lc.decide(held_case(S.IN_MEDIATION), lc.Reassign(COLLEAGUE, "sup-1", NOW))
    assert decision.changes == {"mediator_id": COLLEAGUE}
    (event,) = decision.events
    assert isinstance(event, CaseReassigned)
    assert (event.mediator_id, event.previous_mediator_id, event.by) == (COLLEAGUE, HOLDER, "sup-1")
    assert decision.timeline[0]["event"] == "reassigned"
    assert decision.timeline[0]["previous_mediator_id"] == HOLDER


@pytest.mark.parametrize("state", [S.RESOLVED, S.FAILED, S.REFERRED, S.WITHDRAWN])
def test_a_closed_case_is_not_reassigned(state: CaseState) -> None:
    with pytest.raises(lc.IllegalTransitionError):
        lc.decide(held_case(state), lc.Reassign(COLLEAGUE, "sup-1", NOW))


def test_reassigning_to_the_holder_changes_nothing_and_says_so() -> None:
    with pytest.raises(lc.IllegalTransitionError) as refused:
        lc.decide(held_case(), lc.Reassign(HOLDER, "sup-1", NOW))
    assert refused.value.why == "already_assigned"


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (lc.Actor("sup-town", "supervisor", "hanyin-shuangru"), True),
        (lc.Actor("sup-county", "supervisor", "hanyin"), True),
        (lc.Actor("sup-unit", "supervisor", UNIT), True),
        (lc.Actor("sup-other", "supervisor", "hanyin-chengguan"), False),
        (lc.Actor(LEAD, "mediator", UNIT), True),
        (lc.Actor(COLLEAGUE, "mediator", UNIT), False),
        (lc.Actor(HOLDER, "mediator", UNIT), False),
        (lc.Actor("med-hanyin-shuangru-1", "mediator", "hanyin-shuangru"), False),
        (lc.Actor("admin-1", "admin", "hanyin"), False),
    ],
)
def test_who_may_reassign(actor: lc.Actor, allowed: bool) -> None:
    assert lc.may_reassign(held_case(), actor, lead_id=LEAD) is allowed


def test_no_lead_without_mediators() -> None:
    assert not lc.may_reassign(held_case(), lc.Actor(LEAD, "mediator", UNIT), lead_id=None)


# ---- another rebound while the chain is open joins it -----------------------------------------


def test_a_report_joins_an_open_case_once_and_alerts_supervisors() -> None:
    report = routed(occurred_at=NOW)
    chain_case = held_case(S.IN_MEDIATION)
    decision = lc.decide(chain_case, lc.JoinReport(report))
    joined, alert = decision.events
    assert isinstance(joined, ReportJoined)
    assert isinstance(alert, AlertRaised)
    assert (joined.case_id, joined.joined_to) == (report.case_id, chain_case.case_id)
    assert decision.changes == {"joined_reports": [report.case_id]}
    assert decision.timeline[0]["event"] == "rebound_joined"
    assert decision.timeline[0]["rebound_tracking_number"] == report.dispute.tracking_number
    again = replace(chain_case, joined=(report.case_id,))
    with pytest.raises(lc.IllegalTransitionError) as refused:
        lc.decide(again, lc.JoinReport(report))
    assert refused.value.why == "joined"


@pytest.mark.parametrize("state", [S.RESOLVED, S.FAILED, S.REFERRED, S.WITHDRAWN])
def test_a_closed_case_is_joined_by_nothing(state: CaseState) -> None:
    with pytest.raises(lc.IllegalTransitionError):
        lc.decide(held_case(state), lc.JoinReport(routed(occurred_at=NOW)))
