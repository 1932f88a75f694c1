from pydantic import TypeAdapter

from contracts.events import (
    CaseAccepted,
    CaseRouted,
    DisputeReported,
    LifecycleEvent,
    deterministic_event_id,
)
from contracts.registry import DATA_DIR, hanyin, parse_document
from contracts.registry_file import read_registry_file
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


def test_which_unit_lies_in_which_is_the_registrys_to_say() -> None:
    registry = hanyin()
    assert registry.ancestors("hanyin-shuangru-jianghe") == [
        "hanyin-shuangru-jianghe",
        "hanyin-shuangru",
        "hanyin",
    ]
    assert registry.is_within("hanyin-shuangru-jianghe", "hanyin-shuangru")
    assert not registry.is_within("hanyin-shuangruxi", "hanyin-shuangru")
    assert registry.ancestors("nowhere") == ["nowhere"]
    codes = parse_document(
        read_registry_file(
            (DATA_DIR / "xiangxi.csv").read_text(encoding="utf-8"), json_format=False, version="v"
        )
    )
    assert codes.ancestors("433122100201-g01") == [
        "433122100201-g01",
        "433122100201",
        "433122100000",
        "433122000000",
        "433100000000",
    ]
    assert codes.is_within("433122100201", "433122000000")
    assert not codes.is_within("433123100201", "433122000000")  # Fenghuang, not Luxi
