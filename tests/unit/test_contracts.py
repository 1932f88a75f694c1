from contracts.events import CaseRouted, DisputeReported, deterministic_event_id
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
