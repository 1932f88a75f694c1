from pydantic import TypeAdapter

from contracts.events import (
    CaseAccepted,
    CaseRouted,
    DisputeReported,
    LifecycleEvent,
    deterministic_event_id,
)
from contracts.ids import ancestors, is_within
from tests.factories import reported, routed


def test_events_round_trip_through_json() -> None:
    event = reported()
    assert DisputeReported.model_validate_json(event.model_dump_json()) == event
    decision = routed()
    assert CaseRouted.model_validate_json(decision.model_dump_json()) == decision


def test_events_tolerate_fields_from_newer_producers() -> None:
    event = reported()
    data = event.model_dump(mode="json") | {"added_in_v2": True}
    assert DisputeReported.model_validate(data) == event


def test_deterministic_ids_depend_on_every_part() -> None:
    assert deterministic_event_id("c1", "assigned", "1") == deterministic_event_id(
        "c1", "assigned", "1"
    )
    assert deterministic_event_id("c1", "assigned", "1") != deterministic_event_id(
        "c1", "assigned", "2"
    )


def test_lifecycle_events_are_told_apart_by_type() -> None:
    decision = routed()
    adapter = TypeAdapter(LifecycleEvent)
    accepted = CaseAccepted(
        occurred_at=decision.occurred_at,
        correlation_id=decision.correlation_id,
        case_id=decision.case_id,
        tier=decision.tier,
        unit_id=decision.unit_id,
        mediator_id="m1",
        on_time=True,
    )
    assert adapter.validate_json(accepted.model_dump_json()) == accepted


def test_unit_ids_are_hierarchical() -> None:
    assert ancestors("hanyin-shuangru-jianghe") == [
        "hanyin-shuangru-jianghe",
        "hanyin-shuangru",
        "hanyin",
    ]
    assert is_within("hanyin-shuangru-jianghe", "hanyin-shuangru")
    assert not is_within("hanyin-shuangruxi", "hanyin-shuangru")
