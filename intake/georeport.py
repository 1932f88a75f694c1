"""GeoReport v2's two formats and its public view of a request. Pure: documents in, bodies out.

XML is the base format of GeoReport v2 (JSON is optional in the spec), so every Open311
answer, refusals included, comes in both: the same document, rendered by `render`. Lists take
the spec's element names: `<services><service>`, `<service_requests><request>`,
`<attributes><attribute>`, `<values><value>`, `<errors><error>`.
"""

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from fastapi.responses import JSONResponse, Response

from contracts.registry import Registry
from contracts.vocabulary import Category
from intake.status import DisputeStatus
from services.guards import FieldError


class Format(StrEnum):
    JSON = "json"
    XML = "xml"


XML_MEDIA_TYPE = "text/xml; charset=utf-8"
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
}
"""The element each member of a list is written as, by the list's own element."""
CENTROID_DECIMALS = 3
"""About 100 m: the village's registered centre, never where anybody lives."""


def format_of(path: str) -> Format:
    """The format a client asked for by the resource's extension; JSON unless `.xml`."""
    return Format.XML if path.endswith(".xml") else Format.JSON


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list | tuple):
        item_name = ITEM_NAMES.get(element.tag, "item")
        for item in value:
            _fill(ET.SubElement(element, item_name), item)
    else:
        element.text = _text(value)


def to_xml(root: str, document: Any) -> bytes:
    """`document` under `<root>`, UTF-8 with the XML declaration the spec asks for; an absent
    value (None) is an empty element, as in the spec's examples."""
    element = ET.Element(root)
    _fill(element, document)
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return body


def render(fmt: Format, root: str, document: Any, status_code: int = 200) -> Response:
    """The JSON document as it is, or as XML under `root` (the JSON has no root element)."""
    if fmt is Format.XML:
        return Response(to_xml(root, document), status_code, media_type=XML_MEDIA_TYPE)
    return JSONResponse(document, status_code)


def errors_document(status: int, fields: Sequence[FieldError]) -> list[dict[str, Any]]:
    """GeoReport's `[{code, description}]`, each description starting with its field."""
    code = 400 if status == 422 else status
    return [
        {
            "code": code,
            "description": f"{f['field']}: {f['message']}" if f.get("field") else f["message"],
        }
        for f in fields
    ]


def errors(
    status: int,
    fields: Sequence[FieldError],
    fmt: Format = Format.JSON,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A refusal in GeoReport's shape; a body check's 422 is GeoReport's 400."""
    code = 400 if status == 422 else status
    response = render(fmt, "errors", errors_document(status, fields), code)
    response.headers.update(headers or {})
    return response


def render_refusal(status: int, fields: list[FieldError], path: str) -> Response:
    """What the shared input checks and error handlers answer under /open311/."""
    return errors(status, fields, format_of(path))


# ---- the public view of a request -----------------------------------------------------------


def public_place(registry: Registry, dispute: Mapping[str, Any]) -> tuple[str | None, Any, Any]:
    """The village as a public place: its full name and registered centre. Nothing finer: the
    address text, the coordinates a client sent and the grid stay private."""
    place = dispute.get("village_id") or dispute.get("grid_id")
    village = registry.village_of(place) if place else None
    if village is None:
        return None, None, None
    names = [registry.units[unit].name for unit in reversed(registry.ancestors(village.id))]
    lat = round(village.lat, CENTROID_DECIMALS) if village.lat is not None else None
    lon = round(village.lon, CENTROID_DECIMALS) if village.lon is not None else None
    return "".join(names), lat, lon


def public_request(
    found: Mapping[str, Any], status: DisputeStatus, registry: Registry, service_name: str
) -> dict[str, Any]:
    """What anybody may read of a request, without a key.

    Public: the tracking number, open/closed with the latest step's note (tiers, unit ids and
    referral targets only), the service, the unit handling it, the dates, and the village with
    its centre. Never served: the description and address text (free text names people and
    homes even after numbers are redacted: family and inheritance disputes above all), the
    parties, the caller or requester, the coordinates a client sent, the grid, the channel."""
    dispute = found["dispute"]
    address, lat, lon = public_place(registry, dispute)
    latest = status.history[-1]
    return {
        "service_request_id": dispute["tracking_number"],
        "status": "open" if status.open else "closed",
        "status_notes": latest.note,
        "service_name": service_name,
        "service_code": Category(dispute["category"]).value,
        "description": None,
        "agency_responsible": status.unit_id,
        "service_notice": "请保留受理编号以便查询 (keep the tracking number)",
        "requested_datetime": found["received_at"].isoformat(),
        "updated_datetime": latest.at.isoformat(),
        "expected_datetime": None,
        "address": address,
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": None,
    }


# ---- GET requests: the spec's filters -------------------------------------------------------

WINDOW = timedelta(days=90)
"""The spec's default range, and the longest a query may span."""
MOST = 1000
"""The spec's default (and here the only) number of requests in one answer."""
STATUSES = frozenset({"open", "closed"})


@dataclass(frozen=True)
class RequestQuery:
    """`ids` (tracking numbers) overrides every other filter, as the spec says."""

    ids: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    statuses: frozenset[str] = STATUSES
    start: datetime | None = None
    end: datetime | None = None


def _listed(value: str | None) -> tuple[str, ...]:
    """A comma-delimited parameter's values, blanks dropped, each once, in order."""
    return tuple(dict.fromkeys(part.strip() for part in (value or "").split(",") if part.strip()))


def _when(name: str, value: str | None, problems: list[FieldError]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        example = "2026-11-22T00:00:00Z"
        problems.append({"field": name, "message": f"not a W3C date-time, e.g. {example}"})
        return None
    if parsed.tzinfo is None:
        problems.append({"field": name, "message": "needs a time zone (Z or +08:00)"})
        return None
    return parsed


def _window(
    start: datetime | None, end: datetime | None, now: datetime, problems: list[FieldError]
) -> tuple[datetime, datetime]:
    """The range searched: as given, else the 90 days before `end` or after `start`, else the
    last 90 days; never more than 90 days."""
    if start is None and end is None:
        return now - WINDOW, now
    if start is None:
        assert end is not None
        return end - WINDOW, end
    if end is None:
        return start, start + WINDOW
    if end < start:
        problems.append({"field": "end_date", "message": "is before start_date"})
    elif end - start > WINDOW:
        message = "may not be over 90 days after start_date"
        problems.append({"field": "end_date", "message": message})
    return start, end


def request_query(
    params: Mapping[str, str], codes: Sequence[str], now: datetime
) -> RequestQuery | list[FieldError]:
    """The query of `GET requests`, or every problem with it named by its parameter."""
    problems: list[FieldError] = []
    ids = _listed(params.get("service_request_id"))
    if len(ids) > MOST:
        problems.append({"field": "service_request_id", "message": f"more than {MOST} ids"})
    if ids:
        return problems or RequestQuery(ids=ids)
    wanted_codes = _listed(params.get("service_code"))
    if unknown := [code for code in wanted_codes if code not in codes]:
        problems.append({"field": "service_code", "message": f"unknown: {', '.join(unknown)}"})
    statuses = frozenset(_listed(params.get("status"))) or STATUSES
    if statuses - STATUSES:
        problems.append({"field": "status", "message": "each one of: open, closed"})
    start = _when("start_date", params.get("start_date"), problems)
    end = _when("end_date", params.get("end_date"), problems)
    start, end = _window(start, end, now, problems)
    if problems:
        return problems
    return RequestQuery(codes=wanted_codes, statuses=statuses, start=start, end=end)
