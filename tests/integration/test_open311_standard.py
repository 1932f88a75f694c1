"""Open311 GeoReport v2 as the spec says, on the real servers: public reads without a key and
without personal data, XML (the base format) and JSON on every endpoint, the list filters,
`api_key` on POST whatever its length, and a GeoReport client from PyPI."""

import asyncio
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import requests
from georeport import GeoReport

from contracts.registry import hanyin
from services.auth import Role
from tests.auth import fresh_token, mediator_token, token
from tests.factories import JIANGHE, hotline_body, open311_form
from tests.integration.conftest import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SERVICE_FIELDS = [
    "service_code", "service_name", "description", "metadata", "type", "keywords", "group",
]  # fmt: skip
REQUEST_FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat", "long",
    "media_url",
]  # fmt: skip


def base(stack: Stack) -> str:
    return f"{stack.urls['intake']}/open311/v2"


def xml_of(answer: httpx.Response) -> ET.Element:
    assert answer.headers["content-type"].startswith("text/xml"), answer.headers
    assert answer.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(answer.content)


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def operator_key() -> str:
    return token(Role.OPERATOR)


async def file(client: httpx.AsyncClient, stack: Stack, fmt: str = "json", **form: str) -> str:
    answer = await client.post(
        f"{base(stack)}/requests.{fmt}",
        data={**open311_form(**form), "api_key": operator_key()},
    )
    assert answer.status_code == 201, answer.text
    if fmt == "xml":
        number = xml_of(answer).findtext("request/service_request_id")
        assert number
        return number
    return str(answer.json()[0]["service_request_id"])


# --- reads: public, JSON and XML --------------------------------------------------------------


async def test_services_and_definitions_are_read_without_a_key_in_json_and_xml(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        listed_json = await client.get(f"{base(stack)}/services.json")
        listed_xml = await client.get(f"{base(stack)}/services.xml")
        defined_json = await client.get(f"{base(stack)}/services/wage_arrears.json")
        defined_xml = await client.get(f"{base(stack)}/services/wage_arrears.xml")
        unknown_xml = await client.get(f"{base(stack)}/services/potholes.xml")
        other_format = await client.get(f"{base(stack)}/services.csv")
    assert [a.status_code for a in (listed_json, listed_xml, defined_json, defined_xml)] == [
        200,
        200,
        200,
        200,
    ]
    services = xml_of(listed_xml)
    assert services.tag == "services"
    assert set(children(services)) == {"service"}
    assert children(services[0]) == SERVICE_FIELDS
    codes = [service.findtext("service_code") for service in services]
    assert codes == [service["service_code"] for service in listed_json.json()]
    assert "wage_arrears" in codes
    assert services[0].findtext("metadata") == "true"

    definition = xml_of(defined_xml)
    assert definition.tag == "service_definition"
    assert definition.findtext("service_code") == "wage_arrears"
    attributes = definition.findall("attributes/attribute")
    assert len(attributes) == len(defined_json.json()["attributes"]) > 0
    assert children(attributes[0])[:4] == ["variable", "code", "datatype", "required"]
    flags = next(a for a in attributes if a.findtext("code") == "risk_flags")
    assert flags.findtext("datatype") == "multivaluelist"
    assert children(flags.findall("values/value")[0]) == ["key", "name"]

    assert unknown_xml.status_code == 404
    error = xml_of(unknown_xml)
    assert (error.tag, children(error)) == ("errors", ["error"])
    assert error.findtext("error/code") == "404"
    assert (error.findtext("error/description") or "").startswith("service_code:")
    assert other_format.status_code == 404
    assert other_format.json()[0]["code"] == 404


async def test_a_request_is_followed_without_a_key_in_json_and_xml(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        number = await file(client, stack, "xml")
        as_json = await client.get(f"{base(stack)}/requests/{number}.json")
        as_xml = await client.get(f"{base(stack)}/requests/{number}.xml")
        with_old_key = await client.get(
            f"{base(stack)}/requests/{number}.json", params={"api_key": operator_key()}
        )
        unknown = await client.get(f"{base(stack)}/requests/HY-20200101-999999.xml")
    assert as_json.status_code == as_xml.status_code == with_old_key.status_code == 200
    [shown] = as_json.json()
    assert list(shown) == REQUEST_FIELDS
    assert (shown["service_request_id"], shown["status"]) == (number, "open")
    root = xml_of(as_xml)
    assert (root.tag, children(root)) == ("service_requests", ["request"])
    request = root[0]
    assert children(request) == REQUEST_FIELDS
    assert request.findtext("service_request_id") == number
    assert request.findtext("service_code") == "wage_arrears"
    assert request.findtext("requested_datetime") == shown["requested_datetime"]
    [again] = with_old_key.json()  # a key sent anyway changes nothing
    assert (list(again), again["service_request_id"]) == (REQUEST_FIELDS, number)
    assert unknown.status_code == 404
    assert xml_of(unknown).findtext("error/code") == "404"


# --- POST: api_key required, GeoReport's error shape -----------------------------------------


async def test_filing_without_a_key_is_refused_in_georeport_shape(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        no_key_json = await client.post(f"{base(stack)}/requests.json", data=open311_form())
        no_key_xml = await client.post(f"{base(stack)}/requests.xml", data=open311_form())
        bad_key = await client.post(
            f"{base(stack)}/requests.xml", data={**open311_form(), "api_key": "not-a-token"}
        )
        as_mediator = await client.post(
            f"{base(stack)}/requests.json",
            data={**open311_form(), "api_key": mediator_token(f"med-{JIANGHE}-1")},
        )
        bad_form = await client.post(
            f"{base(stack)}/requests.xml",
            data={**open311_form(service_code="potholes"), "api_key": operator_key()},
        )
        bad_header = await client.post(
            f"{base(stack)}/requests.xml",
            data={**open311_form(), "api_key": operator_key()},
            headers={"Idempotency-Key": "two words"},
        )
    assert no_key_json.status_code == 401
    assert no_key_json.headers["www-authenticate"].startswith("Bearer")
    [entry] = no_key_json.json()
    assert entry["code"] == 401
    assert entry["description"].startswith("api_key:")
    for refused, status in ((no_key_xml, 401), (bad_key, 401), (bad_form, 400), (bad_header, 400)):
        assert refused.status_code == status, refused.text
        root = xml_of(refused)
        assert (root.tag, set(children(root))) == ("errors", {"error"})
        assert children(root[0]) == ["code", "description"]
        assert root.findtext("error/code") == str(status)
    assert (xml_of(no_key_xml).findtext("error/description") or "").startswith("api_key:")
    assert (xml_of(bad_form).findtext("error/description") or "").startswith("service_code:")
    assert "Idempotency-Key" in (xml_of(bad_header).findtext("error/description") or "")
    assert as_mediator.status_code == 403
    assert as_mediator.json()[0]["description"].startswith("api_key:")


async def test_a_full_length_key_is_taken_as_a_form_field_and_as_a_query_parameter(
    stack: Stack,
) -> None:
    api_key = fresh_token(Role.OPERATOR, "hanyin", f"operator-{'x' * 40}")
    assert len(api_key) >= 300
    async with httpx.AsyncClient(timeout=30) as client:
        as_field = await client.post(
            f"{base(stack)}/requests.json", data={**open311_form(), "api_key": api_key}
        )
        as_query = await client.post(
            f"{base(stack)}/requests.xml", params={"api_key": api_key}, data=open311_form()
        )
    assert as_field.status_code == 201, as_field.text
    assert as_field.json()[0]["service_request_id"].startswith("HY-")
    assert as_query.status_code == 201, as_query.text
    assert (xml_of(as_query).findtext("request/service_request_id") or "").startswith("HY-")


# --- GET requests: the spec's filters ----------------------------------------------------------


async def resolve_case(stack: Stack, client: httpx.AsyncClient, number: str) -> None:
    """Resolved by the mediator it was assigned to, through mediation's API."""
    mediation = stack.urls["mediation"]

    async def assigned() -> dict[str, Any] | None:
        found = await client.get(f"{base(stack)}/requests/{number}.json")
        holder = found.json()[0]["agency_responsible"]
        if not holder:
            return None
        queue = await client.get(
            f"{mediation}/v1/units/{holder}/queue",
            headers={"Authorization": f"Bearer {token(Role.ADMIN)}"},
        )
        return next((c for c in queue.json() if c["tracking_number"] == number), None)

    case = await eventually(assigned, what=f"{number} in a mediator's queue")
    who = {"Authorization": f"Bearer {mediator_token(case['mediator_id'])}"}
    url = f"{mediation}/v1/cases/{case['case_id']}"
    held = {"held_at": datetime.now(UTC).isoformat(), "participants": ["甲", "乙"]}
    resolved = {"outcome": "resolved", "agreement": "oral", "summary": "双方和解"}
    for action, body in (("accept", {}), ("sessions", held), ("outcome", resolved)):
        answer = await client.post(f"{url}/{action}", json=body, headers=who)
        assert answer.status_code == 200, answer.text


async def test_the_list_takes_the_spec_filters(stack: Stack) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    async with httpx.AsyncClient(timeout=20) as client:
        wages = [await file(client, stack) for _ in range(2)]
        neighbour = await file(client, stack, "xml", service_code="neighbour")
        await resolve_case(stack, client, wages[0])

        async def listed(fmt: str = "json", **params: str) -> list[str]:
            answer = await client.get(f"{base(stack)}/requests.{fmt}", params=params)
            assert answer.status_code == 200, answer.text
            if fmt == "xml":
                root = xml_of(answer)
                assert root.tag == "service_requests"
                assert set(children(root)) <= {"request"}
                return [r.findtext("service_request_id") or "" for r in root]
            return [request["service_request_id"] for request in answer.json()]

        async def closed() -> bool:
            return wages[0] in await listed(status="closed")

        await eventually(closed, what="the resolved request listed as closed")
        ours = {*wages, neighbour}
        since = before.isoformat()
        by_ids = await listed("xml", service_request_id=f"{wages[1]},{neighbour}")
        everything = await listed()
        times = [
            r["requested_datetime"]
            for r in (await client.get(f"{base(stack)}/requests.json")).json()
        ]
        by_code = await listed(service_code="neighbour", start_date=since)
        both_codes = await listed(service_code="neighbour,wage_arrears", start_date=since)
        open_now = await listed(status="open", start_date=since)
        closed_now = await listed("xml", status="closed", start_date=since)
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        after_them = await listed(start_date=later)
        before_them = await listed(end_date=before.isoformat())
        bad = {
            name: await client.get(f"{base(stack)}/requests.json", params=params)
            for name, params in {
                "status": {"status": "pending"},
                "start_date": {"start_date": "2026-11-01T00:00:00"},
                "end_date": {
                    "start_date": "2026-01-01T00:00:00Z",
                    "end_date": "2026-06-01T00:00:00Z",
                },
                "service_code": {"service_code": "potholes"},
            }.items()
        }
    assert sorted(by_ids) == sorted([wages[1], neighbour])
    assert ours <= set(everything)
    assert times == sorted(times, reverse=True), "newest first"
    assert neighbour in by_code
    assert not set(wages) & set(by_code)
    assert ours <= set(both_codes)
    assert set(open_now) & ours == {wages[1], neighbour}
    assert set(closed_now) & ours == {wages[0]}
    assert not ours & set(after_them)
    assert not ours & set(before_them)
    for field, answer in bad.items():
        assert answer.status_code == 400, (field, answer.text)
        assert answer.json()[0]["description"].startswith(f"{field}:"), answer.text


# --- no personal data in any read --------------------------------------------------------------


async def test_public_reads_show_no_personal_data(stack: Stack) -> None:
    marker = uuid.uuid4().hex[:8]
    secrets = {
        "name": "欧阳秀兰",
        "phone": "13611112222",
        "email": f"xiulan-{marker}@example.com",
        "address": "江河村三组王家老屋",
        "description": f"欧阳秀兰家{marker}采茶工钱被拖欠",
        "caller": "慕容建国",
        "party": "司马春华",
        "device": f"device-{marker}",
    }
    async with httpx.AsyncClient(timeout=20) as client:
        by_open311 = await file(
            client,
            stack,
            first_name="欧阳",
            last_name="秀兰",
            phone=secrets["phone"],
            email=secrets["email"],
            address_string=secrets["address"],
            description=secrets["description"],
            device_id=secrets["device"],
            lat="",
            long="",
            **{"attribute[village_id]": JIANGHE},
        )
        hotline = await client.post(
            f"{stack.urls['intake']}/v1/disputes",
            json=hotline_body(
                description=f"{secrets['party']}与邻居{marker}争吵",
                address_text=secrets["address"],
                caller={"name": secrets["caller"], "phone": "13722223333", "is_party": False},
                parties=[{"name": secrets["party"], "phone": "13833334444", "village_id": JIANGHE}],
            ),
            headers={"Authorization": f"Bearer {token(Role.OPERATOR)}"},
        )
        assert hotline.status_code == 202, hotline.text
        by_hotline = hotline.json()["tracking_number"]
        numbers = f"{by_open311},{by_hotline}"
        reads = [
            await client.get(f"{base(stack)}/requests/{number}.{fmt}")
            for number in (by_open311, by_hotline)
            for fmt in ("json", "xml")
        ] + [
            await client.get(f"{base(stack)}/requests.{fmt}", params=params)
            for fmt in ("json", "xml")
            for params in ({"service_request_id": numbers}, {})
        ]
    village = hanyin().unit(JIANGHE)
    assert village is not None
    for read in reads:
        assert read.status_code == 200, read.text
        text = read.text
        for what, value in secrets.items():
            assert value not in text, (what, str(read.url))
        for fragment in ("秀兰", "13611112222", "13722223333", "13833334444", marker):
            assert fragment not in text, (fragment, str(read.url))
    [shown] = reads[0].json()
    assert shown["address"] == "汉阴县双乳镇江河村"
    assert village.lat is not None
    assert village.lon is not None
    assert (shown["lat"], shown["long"]) == (round(village.lat, 3), round(village.lon, 3))
    assert shown["description"] is None
    request = xml_of(reads[1]).find("request")
    assert request is not None
    assert request.findtext("address") == "汉阴县双乳镇江河村"
    assert request.findtext("description") == ""  # an empty element


# --- a GeoReport client from PyPI ---------------------------------------------------------------


def follow_with_georeport(root: str, number: str, fmt: str) -> dict[str, Any]:
    """What the `georeport` package (PyPI) reads: services, a definition, the request by id
    and through the list, all without a key, as a GeoReport client does."""
    client = GeoReport(root, output_format=fmt)
    services = client.get_service_list()
    definition = client.get_service_definition("wage_arrears")
    one = client.get_service_request(number)
    listed = client.get_service_requests(service_request_id=number)
    try:
        client.get_service_request("HY-20200101-999999")
        missing = None
    except requests.HTTPError as error:
        missing = error.response.status_code if error.response is not None else None
    return {
        "codes": [service["service_code"] for service in services],
        "definition": definition["service_code"],
        "one": one,
        "listed": listed,
        "missing": missing,
    }


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_a_georeport_client_from_pypi_lists_services_and_follows_a_request(
    stack: Stack, fmt: str
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        number = await file(client, stack, fmt)
    seen = await asyncio.to_thread(follow_with_georeport, base(stack), number, fmt)
    assert "wage_arrears" in seen["codes"]
    assert len(seen["codes"]) == 14
    assert seen["definition"] == "wage_arrears"
    assert seen["one"]["service_request_id"] == number
    assert seen["one"]["status"] == "open"
    assert seen["one"]["service_code"] == "wage_arrears"
    # One request in the list: JSON gives a list, xmltodict the single element itself.
    listed = seen["listed"] if fmt == "xml" else seen["listed"][0]
    assert listed["service_request_id"] == number
    assert seen["missing"] == 404
