"""When a mediator may date what they record: a little back, never before the case's last
entry, never ahead of now."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contracts.registry import hanyin
from mediation import lifecycle as lc
from mediation.models import case_document, case_of
from router.policy import Policy
from router.rules import route
from tests.factories import reported

ASSIGNED_AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
NOW = ASSIGNED_AT + timedelta(hours=30)
MEDIATOR = "med-hanyin-shuangru-jianghe-1"
DATING = lc.Dating(NOW, backdate_grace=timedelta(hours=24), clock_skew=timedelta(minutes=5))


def assigned_case() -> lc.Case:
    return case_of(case_document(route(reported(), Policy(), hanyin(), ASSIGNED_AT)))


def test_a_stored_case_knows_when_its_last_entry_happened() -> None:
    assert assigned_case().last_entry_at == ASSIGNED_AT


@pytest.mark.parametrize(
    "at",
    [NOW, NOW - timedelta(hours=23), NOW + timedelta(minutes=4)],
    ids=["now", "within the grace", "within the clock skew"],
)
def test_an_action_dated_within_the_window_is_taken(at: datetime) -> None:
    decision = lc.decide(assigned_case(), lc.Accept(MEDIATOR, at), DATING)
    assert decision.changes["accepted_at"] == at


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (datetime(2000, 1, 1, tzinfo=UTC), "too_far_back"),
        (NOW - timedelta(hours=25), "too_far_back"),
        (NOW + timedelta(minutes=6), "in_future"),
    ],
    ids=["in 2000", "beyond the grace", "beyond the clock skew"],
)
def test_an_action_dated_outside_the_window_is_refused(at: datetime, code: str) -> None:
    with pytest.raises(lc.MisdatedError) as refused:
        lc.decide(assigned_case(), lc.Accept(MEDIATOR, at), DATING)
    assert refused.value.code == code


def test_an_acceptance_dated_before_its_assignment_is_refused_even_within_the_grace() -> None:
    case = replace(assigned_case(), last_entry_at=NOW - timedelta(hours=2))
    with pytest.raises(lc.MisdatedError) as refused:
        lc.decide(case, lc.Accept(MEDIATOR, NOW - timedelta(hours=3)), DATING)
    assert refused.value.code == "before_last_entry"
    assert refused.value.params == {"last_entry_at": (NOW - timedelta(hours=2)).isoformat()}


def test_an_entry_dated_ahead_of_our_clock_does_not_block_an_action_dated_now() -> None:
    """Another host's clock running ahead must not refuse what happens now."""
    case = replace(assigned_case(), last_entry_at=NOW + timedelta(seconds=30))
    decision = lc.decide(case, lc.Accept(MEDIATOR, NOW), DATING)
    assert decision.changes["accepted_at"] == NOW
    with pytest.raises(lc.MisdatedError):
        lc.decide(case, lc.Accept(MEDIATOR, NOW - timedelta(seconds=1)), DATING)


def test_every_mediator_action_is_dated_by_the_rule() -> None:
    case = replace(assigned_case(), state=lc.S.IN_MEDIATION)
    at = datetime(2000, 1, 1, tzinfo=UTC)
    with pytest.raises(lc.MisdatedError):
        lc.decide(case, lc.HoldSession(MEDIATOR, at, at, ("张三",)), DATING)
    with pytest.raises(lc.MisdatedError):
        lc.decide(case, lc.Fail(MEDIATOR, at, "不让步"), DATING)


def test_the_sweeper_and_the_router_are_not_mediators() -> None:
    """Their own clock dates their commands; the dating rule is for what people enter."""
    case = replace(assigned_case(), last_entry_at=NOW)
    deadline = case.acceptance_due_at + timedelta(minutes=1)
    decision = lc.decide(case, lc.CheckDeadlines(deadline), DATING)
    assert decision.events


def accepted_case() -> lc.Case:
    return replace(assigned_case(), state=lc.S.ACCEPTED)


@pytest.mark.parametrize(
    ("held_at", "code"),
    [
        (datetime(1990, 1, 1, tzinfo=UTC), "before_case"),
        (ASSIGNED_AT - timedelta(hours=25), "before_case"),
        (NOW + timedelta(minutes=6), "in_future"),
    ],
    ids=["decades back", "over a grace before the case", "ahead of its record"],
)
def test_a_session_held_outside_the_dispute_is_refused_naming_held_at(
    held_at: datetime, code: str
) -> None:
    session = lc.HoldSession(MEDIATOR, NOW, held_at, ("李四",))
    with pytest.raises(lc.MisdatedError) as refused:
        lc.decide(accepted_case(), session, DATING)
    assert (refused.value.field, refused.value.code) == ("held_at", code)


def test_a_session_held_on_the_spot_before_the_report_is_taken() -> None:
    held_at = ASSIGNED_AT - timedelta(hours=3)
    decision = lc.decide(accepted_case(), lc.HoldSession(MEDIATOR, NOW, held_at, ("李四",)), DATING)
    assert decision.events
