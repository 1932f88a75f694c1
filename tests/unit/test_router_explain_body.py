"""The router's explain takes whatever intake's hotline takes, so a report can be pasted."""

from pydantic import BaseModel

from intake.models import CallerIn, HotlineReport, PartyIn
from router.models import ExplainCaller, ExplainParty, ExplainRequest
from tests.factories import JIANGHE, hotline_body


def test_every_field_of_a_hotline_report_is_a_field_of_explain() -> None:
    pairs: list[tuple[type[BaseModel], type[BaseModel]]] = [
        (HotlineReport, ExplainRequest),
        (PartyIn, ExplainParty),
        (CallerIn, ExplainCaller),
    ]
    for report, explain in pairs:
        assert set(report.model_fields) <= set(explain.model_fields), report.__name__


def test_a_full_hotline_report_is_taken_and_its_phones_are_not_passed_on() -> None:
    body = hotline_body(
        address_text="江河村三组",
        caller={"name": "王五", "phone": "13711112222", "is_party": True},
        parties=[
            {
                "kind": "person",
                "name": "李四",
                "phone": "13912345678",
                "village_id": JIANGHE,
                "household_id": f"{JIANGHE}-h012",
                "household_color": "red",
            }
        ],
    )
    HotlineReport.model_validate(body)
    reported = ExplainRequest.model_validate(body).as_reported()
    dispute = reported.dispute
    assert dispute.village_id == JIANGHE
    assert dispute.incident_at is not None
    assert dispute.parties[0].household_color == "red"
    assert "13912345678" not in reported.model_dump_json()
    assert "13711112222" not in reported.model_dump_json()
