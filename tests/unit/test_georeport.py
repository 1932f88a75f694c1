"""GeoReport v2's XML rendering, its errors, the list filters and the public view: pure."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from contracts.registry import hanyin
from contracts.vocabulary import Category
from intake.georeport import (
    MOST,
    WINDOW,
    Format,
    RequestQuery,
    errors,
    format_of,
    public_request,
    render,
    request_query,
    to_xml,
)
from intake.open311 import service_definition, services_list
from intake.status import dispute_status
from tests.factories import JIANGHE

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
CODES = ["neighbour", "wage_arrears"]


def parsed(root: str, document: object) -> ET.Element:
    return ET.fromstring(to_xml(root, document))


def test_xml_starts_with_the_utf8_declaration_and_keeps_chinese() -> None:
    body = to_xml("services", [{"service_name": "劳资纠纷"}])
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<services>")
    assert "劳资纠纷".encode() in body


def test_lists_take_the_spec_element_names() -> None:
    services = parsed("services", services_list())
    assert {child.tag for child in services} == {"service"}
    assert len(services) == 14
    requests = parsed("service_requests", [{"service_request_id": "HY-1"}, {}])
    assert [child.tag for child in requests] == ["request", "request"]
    definition = parsed("service_definition", service_definition(Category.WAGE_ARREARS))
    attributes = definition.findall("attributes/attribute")
    assert len(attributes) == 7
    flags = next(a for a in attributes if a.findtext("code") == "risk_flags")
    values = flags.findall("values/*")
    assert {value.tag for value in values} == {"value"}
    assert [child.tag for child in values[0]] == ["key", "name"]


def test_values_are_written_as_the_spec_writes_them() -> None:
    request = parsed(
        "service_requests",
        [{"metadata": True, "lat": 32.983, "order": 3, "expected_datetime": None, "at": NOW}],
    )[0]
    assert request.findtext("metadata") == "true"
    assert request.findtext("lat") == "32.983"
    assert request.findtext("order") == "3"
    empty = request.find("expected_datetime")
    assert empty is not None
    assert (empty.text, list(empty)) == (None, [])
    assert request.findtext("at") == "2026-11-22T08:00:00+00:00"


def test_text_that_looks_like_markup_stays_text() -> None:
    request = parsed("service_requests", [{"status_notes": "<b>&amp; 已受理</b>"}])[0]
    assert request.findtext("status_notes") == "<b>&amp; 已受理</b>"


def test_errors_are_the_spec_shape_in_both_formats() -> None:
    fields = [{"field": "api_key", "message": "missing bearer token"}]
    as_json = errors(401, fields)
    assert as_json.body == b'[{"code":401,"description":"api_key: missing bearer token"}]'
    as_xml = errors(422, [{"field": "service_code", "message": "unknown"}], Format.XML)
    assert as_xml.status_code == 400
    assert as_xml.media_type == "text/xml; charset=utf-8"
    root = ET.fromstring(as_xml.body)
    assert (root.tag, [c.tag for c in root], [c.tag for c in root[0]]) == (
        "errors",
        ["error"],
        ["code", "description"],
    )
    assert root.findtext("error/description") == "service_code: unknown"
    unnamed = errors(404, [{"message": "Not Found"}])
    assert unnamed.body == b'[{"code":404,"description":"Not Found"}]'


def test_the_format_is_the_extension() -> None:
    assert format_of("/open311/v2/requests.xml") is Format.XML
    assert format_of("/open311/v2/requests.json") is Format.JSON
    assert bytes(render(Format.XML, "services", []).body).endswith(b"<services />")


# --- the list filters ---------------------------------------------------------------------------


def test_no_filter_is_the_last_90_days() -> None:
    assert request_query({}, CODES, NOW) == RequestQuery(start=NOW - WINDOW, end=NOW)


def test_one_date_gives_the_90_days_beside_it() -> None:
    start = request_query({"start_date": "2026-01-01T00:00:00Z"}, CODES, NOW)
    assert isinstance(start, RequestQuery)
    assert start.end == datetime(2026, 1, 1, tzinfo=UTC) + WINDOW
    end = request_query({"end_date": "2026-06-01T00:00:00+08:00"}, CODES, NOW)
    assert isinstance(end, RequestQuery)
    assert end.end is not None
    assert end.start == end.end - WINDOW


def test_ids_override_every_other_filter_and_lists_are_comma_delimited() -> None:
    query = request_query({"service_request_id": "HY-1, HY-2,,HY-1", "status": "bogus"}, CODES, NOW)
    assert query == RequestQuery(ids=("HY-1", "HY-2"))
    both = request_query({"service_code": "neighbour,wage_arrears", "status": "open"}, CODES, NOW)
    assert isinstance(both, RequestQuery)
    assert (both.codes, both.statuses) == (("neighbour", "wage_arrears"), frozenset({"open"}))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "pending"}, "status"),
        ({"service_code": "potholes"}, "service_code"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-11-01T00:00:00"}, "end_date"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-05-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "end_date"),
        (
            {"service_request_id": ",".join(f"HY-{n}" for n in range(MOST + 1))},
            "service_request_id",
        ),
    ],
)
def test_a_bad_filter_is_named(params: dict[str, str], field: str) -> None:
    problems = request_query(params, CODES, NOW)
    assert isinstance(problems, list)
    assert [problem["field"] for problem in problems] == [field]


def test_exactly_90_days_is_allowed() -> None:
    params = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-01T00:00:00Z"}
    assert isinstance(request_query(params, CODES, NOW), RequestQuery)
    assert datetime(2026, 4, 1, tzinfo=UTC) - datetime(2026, 1, 1, tzinfo=UTC) == timedelta(90)


# --- the public view ----------------------------------------------------------------------------


def test_the_public_view_keeps_the_village_and_nothing_personal() -> None:
    received = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    found = {
        "_id": "d-1",
        "received_at": received,
        "dispute": {
            "tracking_number": "HY-20261122-000001",
            "channel": "open311",
            "category": "family",
            "description": "欧阳秀兰家 家事",
            "village_id": None,
            "grid_id": f"{JIANGHE}-g03",
            "address_text": "江河村三组王家老屋",
            "parties": [{"name": "欧阳秀兰"}],
        },
        "private": {"requester": "sealed"},
    }
    view = public_request(found, dispute_status(found, []), hanyin(), "婚姻家庭纠纷")
    village = hanyin().unit(JIANGHE)
    assert village is not None
    assert village.lat is not None
    assert village.lon is not None
    assert view["address"] == "汉阴县双乳镇江河村"
    assert (view["lat"], view["long"]) == (round(village.lat, 3), round(village.lon, 3))
    assert (view["status"], view["requested_datetime"]) == ("open", received.isoformat())
    assert view["description"] is None
    text = str(view)
    for private in ("欧阳秀兰", "王家老屋", "g03", "open311", "d-1", "sealed"):
        assert private not in text


def test_a_dispute_without_a_village_has_no_public_place() -> None:
    found = {
        "_id": "d-2",
        "received_at": NOW,
        "dispute": {"tracking_number": "HY-2", "channel": "hotline", "category": "other"},
    }
    view = public_request(found, dispute_status(found, []), hanyin(), "其他纠纷")
    assert (view["address"], view["lat"], view["long"]) == (None, None, None)
