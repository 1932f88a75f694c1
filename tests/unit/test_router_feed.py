"""The read-model feed applies what it reads from both topics and skips what it cannot read."""

from datetime import UTC, datetime

from contracts.events import CaseAssigned, CaseWithdrawn
from router.feed import ReadModelFeed
from router.readmodel import ReadModels
from tests.factories import routed

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def test_feed_counts_decisions_and_announcements_once_and_closes_on_withdrawal() -> None:
    models = ReadModels()
    feed = ReadModelFeed(models)
    decision = routed()
    assert decision.mediator_id is not None
    assigned = CaseAssigned(
        occurred_at=NOW,
        correlation_id=decision.case_id,
        case_id=decision.case_id,
        tier=decision.tier,
        unit_id=decision.unit_id,
        mediator_id=decision.mediator_id,
        routing_seq=1,
        tracking_number=decision.dispute.tracking_number,
        priority=decision.priority,
        acceptance_due_at=decision.acceptance_due_at,
    )
    feed.routed(decision.model_dump_json().encode())
    feed.lifecycle(assigned.model_dump_json().encode())
    feed.lifecycle(b'{"event_type": "SomethingNew"}')
    assert models.load.loads[decision.mediator_id] == 1
    assert feed.skipped == 1
    withdrawn = CaseWithdrawn(
        occurred_at=NOW,
        correlation_id=decision.case_id,
        case_id=decision.case_id,
        tier=decision.tier,
        unit_id=decision.unit_id,
    )
    feed.lifecycle(withdrawn.model_dump_json().encode())
    feed.lifecycle(assigned.model_dump_json().encode())  # re-announced
    assert models.load.loads[decision.mediator_id] == 0
