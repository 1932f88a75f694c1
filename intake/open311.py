"""Open311 GeoReport v2, so existing 311 clients can file and follow disputes.

Dispute categories are the services; a request is form-encoded as 311 clients send it
(`service_code`, `description`, `lat`/`long` or `address_string`, `attribute[...]`); the
`service_request_id` is the tracking number. Errors are GeoReport's `[{code, description}]`,
each description starting with the field it is about. Every endpoint answers in XML
(`.xml`, the spec's base format) and JSON (`.json`), see intake/georeport.py.

Reads (services, service definitions, requests) are public, as GeoReport clients expect, and
show only the public fields of a request (`georeport.public_request`); filing needs `api_key`.
"""

import dataclasses
import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, Self
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field, ValidationError, model_validator

from contracts.events import Party
from contracts.registry import Registry, in_force
from contracts.vocabulary import Category, Channel, HouseholdColor, PartyKind, RiskFlag
from intake import georeport
from intake.api import TRACKING_NUMBER, IdempotencyKey, Wiring, find_dispute, settle, signed
from intake.georeport import Format, RequestQuery, request_query
from intake.models import (
    Body,
    Description,
    GridId,
    PartyIn,
    PastTime,
    Phone,
    ShortText,
    VillageId,
)
from intake.pipeline import Accepted
from intake.places import resolve
from intake.service import Draft, Identity, build_dispute, seal_party
from intake.status import dispute_status
from intake.store import IntakeStore, RecentPage
from services.auth import Role, authenticate, token_of
from services.errors import FieldProblem, Refused, problem
from services.guards import FieldError, field_name, key_problem
from services.http import field_errors
from services.mongo import Document
from services.privacy import Sealer

SERVICE_NAMES: dict[Category, str] = {
    Category.NEIGHBOUR: "邻里纠纷",
    Category.FAMILY: "婚姻家庭纠纷",
    Category.INHERITANCE: "继承纠纷",
    Category.HOUSING_SITE: "宅基地纠纷",
    Category.LAND_BOUNDARY: "土地山林权属纠纷",
    Category.LAND_REQUISITION: "征地拆迁纠纷",
    Category.WAGE_ARREARS: "劳资纠纷",
    Category.TRAFFIC_ACCIDENT: "交通事故纠纷",
    Category.MEDICAL: "医疗纠纷",
    Category.CONTRACT_DEBT: "合同债务纠纷",
    Category.PROPERTY_MANAGEMENT: "物业纠纷",
    Category.ENVIRONMENT: "环境污染纠纷",
    Category.CONSUMER: "消费纠纷",
    Category.OTHER: "其他纠纷",
}
TOP_LEVEL = frozenset(
    {
        "api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string",
        "address_id", "email", "device_id", "account_id", "first_name", "last_name", "phone",
        "description", "media_url",
    }
)  # fmt: skip
MULTI_VALUED = frozenset({"risk_flags"})


class Attributes(Body):
    people_involved: int = Field(default=1, ge=1, le=100_000)
    amount_yuan: float = Field(default=0, ge=0, le=1e12)
    risk_flags: list[RiskFlag] = Field(default_factory=list, max_length=10)
    household_color: HouseholdColor | None = None
    village_id: VillageId | None = None
    grid_id: GridId | None = None
    occurred_at: PastTime | None = None


class ServiceRequest(Body):
    service_code: Category
    description: Description
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    long: Annotated[float, Field(ge=-180, le=180)] | None = None
    address_string: ShortText | None = None
    address_id: ShortText | None = None
    email: ShortText | None = None
    device_id: ShortText | None = None
    account_id: ShortText | None = None
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    phone: Phone | None = None
    media_url: ShortText | None = None
    jurisdiction_id: ShortText | None = None
    attribute: Attributes = Field(default_factory=Attributes)

    @model_validator(mode="after")
    def _located(self) -> Self:
        if (self.lat is None) != (self.long is None):
            raise problem(FieldProblem.LAT_LONG_PAIR, "lat and long go together")
        attribute = self.attribute
        places = (self.lat, self.address_string, self.address_id, attribute.village_id)
        if all(place is None for place in (*places, attribute.grid_id)):
            raise problem(
                FieldProblem.LOCATION_REQUIRED,
                "a location is required: lat/long, address_string or address_id",
            )
        return self


class GeoReportRefusals:
    def __init__(self, fmt: Format) -> None:
        self._format = fmt

    def unavailable(self, retry_after_s: int) -> Response:
        fields: list[FieldError] = [{"field": "body", "message": "not stored; retry later"}]
        return georeport.errors(503, fields, self._format, {"Retry-After": str(retry_after_s)})

    def conflict(self, field: str, message: str) -> Response:
        return georeport.errors(409, [{"field": field, "message": message}], self._format)


def _field_name(dotted: str) -> str:
    """`attribute.people_involved` → `attribute[people_involved]`, as the client sent it."""
    head, _, rest = dotted.partition(".")
    if head == "attribute" and rest:
        name, _, tail = rest.partition(".")
        return f"attribute[{name}]" + (f".{tail}" if tail else "")
    return dotted


def parse_form(body: bytes) -> tuple[dict[str, Any], list[FieldError]]:
    """A GeoReport form into the request model's shape, with every refusal named."""
    try:
        # Escaped bytes that are not UTF-8 stay as lone surrogates, which InputGuard refuses.
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="surrogateescape")
    except UnicodeDecodeError:
        return {}, [{"field": "body", "message": "not UTF-8"}]
    data: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    problems: list[FieldError] = []
    for key, value in pairs:
        # Text no database stores is refused for every form before it gets here (InputGuard);
        # what is left is a key MongoDB would read as an operator or a path.
        if found := key_problem(key.replace("[", "").replace("]", "")):
            problems.append({"field": field_name(key), "message": found})
        if key.startswith("attribute[") and key.endswith("]"):
            name = key[len("attribute[") : -1].removesuffix("][").removesuffix("]")
            name = name.split("]", 1)[0]
            if name in MULTI_VALUED:
                attributes.setdefault(name, []).append(value)
            else:
                attributes[name] = value
        elif key in TOP_LEVEL:
            if value != "":
                data[key] = value
        else:
            problems.append({"field": field_name(key), "message": "not a GeoReport v2 field"})
    if attributes:
        data["attribute"] = attributes
    return data, problems


def open311_draft(
    request: ServiceRequest,
    identity: Identity,
    sealer: Sealer,
    registry: Registry,
    radius_km: float,
) -> Draft:
    attribute = request.attribute
    address = request.address_string or (
        f"address_id {request.address_id}" if request.address_id else None
    )
    placement = resolve(
        registry,
        village_id=attribute.village_id,
        grid_id=attribute.grid_id,
        address_text=address,
        lat=request.lat,
        lon=request.long,
        radius_km=radius_km,
    )
    name = " ".join(part for part in (request.first_name, request.last_name) if part)
    parties: list[Party] = []
    if name or request.phone:
        requester = PartyIn(
            kind=PartyKind.PERSON,
            name=name[:200],
            phone=request.phone,
            household_color=attribute.household_color,
        )
        parties.append(seal_party(requester, sealer))
    dispute = build_dispute(
        identity,
        Channel.OPEN311,
        placement,
        category=request.service_code,
        description=request.description,
        parties=parties,
        people_involved=attribute.people_involved,
        amount_yuan=attribute.amount_yuan,
        risk_flags=attribute.risk_flags,
        incident_at=attribute.occurred_at,
        address_text=request.address_string,
    )
    contact = {"email": request.email, "phone": request.phone, "name": name}
    private: dict[str, Any] = {"device_id": request.device_id, "account_id": request.account_id}
    if any(contact.values()):
        private["requester"] = sealer.seal(contact)
    return Draft(dispute, private)


def services_list() -> list[dict[str, Any]]:
    return [
        {
            "service_code": code.value,
            "service_name": name,
            "description": f"{name}：提交矛盾纠纷，由村、镇、县三级调解组织受理",
            "metadata": True,
            "type": "realtime",
            "keywords": f"{code.value},纠纷,调解",
            "group": "矛盾纠纷调解",
        }
        for code, name in SERVICE_NAMES.items()
    ]


def service_definition(code: Category) -> dict[str, Any]:
    def attribute(order: int, variable: str, datatype: str, description: str, **extra: Any) -> Any:
        return {
            "variable": True,
            "code": variable,
            "datatype": datatype,
            "required": False,
            "datatype_description": extra.pop("hint", None),
            "order": order,
            "description": description,
            **extra,
        }

    def values(names: dict[str, str]) -> list[dict[str, str]]:
        return [{"key": key, "name": name} for key, name in names.items()]

    return {
        "service_code": code.value,
        "attributes": [
            attribute(1, "people_involved", "number", "涉及人数 (people involved)"),
            attribute(2, "amount_yuan", "number", "涉及金额 (yuan at stake)"),
            attribute(
                3,
                "risk_flags",
                "multivaluelist",
                "风险 (risk flags)",
                values=values({flag.value: flag.value for flag in RiskFlag}),
            ),
            attribute(
                4,
                "household_color",
                "singlevaluelist",
                "户类 (household colour)",
                values=values({"green": "放心户", "yellow": "关心户", "red": "连心户"}),
            ),
            attribute(5, "village_id", "string", "村 id, e.g. hanyin-shuangru-jianghe"),
            attribute(6, "grid_id", "string", "网格 id, e.g. hanyin-shuangru-jianghe-g03"),
            attribute(7, "occurred_at", "datetime", "发生时间 (when it happened)"),
        ],
    }


def _refused(refusal: Refused, fmt: Format) -> Response:
    """An authentication or rate refusal of a POST, in GeoReport's shape: about the key."""
    field = "api_key" if refusal.status_code in (401, 403) else ""
    fields: list[FieldError] = [{"field": field, "message": str(refusal.detail)}]
    return georeport.errors(refusal.status_code, fields, fmt, refusal.headers)


def _unknown_format(fmt: str) -> Response:
    message = f"no format {fmt[:20]!r}; use .xml or .json"
    return georeport.errors(404, [{"field": "format", "message": message}])


def _format(fmt: str) -> Format | None:
    return Format(fmt) if fmt in Format.__members__.values() else None


class PublicRequests:
    """Public reads of requests: anybody, no key, only `georeport.public_request`'s fields."""

    def __init__(self, store: IntakeStore) -> None:
        self._store = store

    def _views(
        self, disputes: list[Document], entries: dict[str, list[Document]]
    ) -> list[dict[str, Any]]:
        views = []
        for found in disputes:
            status = dispute_status(found, entries.get(found["_id"], []))
            name = SERVICE_NAMES[Category(found["dispute"]["category"])]
            views.append(georeport.public_request(found, status, in_force(), name))
        return views

    async def one(self, reference: str) -> dict[str, Any] | None:
        found = await find_dispute(self._store, reference)
        if found is None:
            return None
        entries = {found["_id"]: await self._store.status_entries(found["_id"])}
        return self._views([found], entries)[0]

    async def matching(self, query: RequestQuery) -> list[dict[str, Any]]:
        """Newest first, at most the spec's 1000."""
        if query.ids:
            numbers = [number for number in query.ids if TRACKING_NUMBER.match(number)]
            disputes = await self._store.disputes_by_tracking(numbers) if numbers else []
            disputes.sort(key=lambda d: (d["received_at"], d["_id"]), reverse=True)
            entries = await self._store.status_entries_of([d["_id"] for d in disputes])
            return self._views(disputes, entries)
        assert query.start is not None
        assert query.end is not None
        page = RecentPage(query.start, query.end, query.codes, limit=PAGE)
        chosen: list[dict[str, Any]] = []
        # The status lives in the status entries, so pages are read until enough match.
        while len(chosen) < georeport.MOST:
            disputes = await self._store.recent_disputes(page)
            entries = await self._store.status_entries_of([d["_id"] for d in disputes])
            views = self._views(disputes, entries)
            chosen.extend(view for view in views if view["status"] in query.statuses)
            if len(disputes) < page.limit:
                break
            last = disputes[-1]
            page = dataclasses.replace(page, after=(last["received_at"], last["_id"]))
        return chosen[: georeport.MOST]


PAGE = 500
"""Disputes read per query while listing requests."""


def create_open311_router(wiring: Wiring) -> APIRouter:
    intake, store, sealer = wiring.intake, wiring.store, wiring.sealer
    settings, logger = wiring.settings, wiring.logger
    router = APIRouter(prefix="/open311/v2", tags=["open311"])
    auth = wiring.auth
    public = PublicRequests(store)
    codes = [code.value for code in SERVICE_NAMES]

    # Reads are public (GeoReport clients send no key to read) and carry no personal data;
    # an `api_key` or `jurisdiction_id` a client sends anyway is ignored.

    @router.get("/services.{fmt}")
    async def services(fmt: str) -> Response:
        if (chosen := _format(fmt)) is None:
            return _unknown_format(fmt)
        return georeport.render(chosen, "services", services_list())

    @router.get("/services/{service_code}.{fmt}")
    async def service(service_code: str, fmt: str) -> Response:
        if (chosen := _format(fmt)) is None:
            return _unknown_format(fmt)
        if service_code not in SERVICE_NAMES:
            unknown: list[FieldError] = [{"field": "service_code", "message": "unknown service"}]
            return georeport.errors(404, unknown, chosen)
        definition = service_definition(Category(service_code))
        return georeport.render(chosen, "service_definition", definition)

    @router.get("/requests.{fmt}")
    async def list_requests(request: Request, fmt: str) -> Response:
        """The spec's filters: `service_request_id` (comma-delimited; overrides the others),
        `service_code`, `status` (open, closed; comma-delimited), `start_date`/`end_date`
        (W3C date-times, at most 90 days apart; the last 90 days by default). Newest first,
        at most 1000."""
        if (chosen := _format(fmt)) is None:
            return _unknown_format(fmt)
        query = request_query(request.query_params, codes, datetime.now(UTC))
        if isinstance(query, list):
            return georeport.errors(400, query, chosen)
        found = await public.matching(query)
        return georeport.render(chosen, "service_requests", found)

    @router.post(
        "/requests.{fmt}",
        status_code=201,
        openapi_extra={
            "requestBody": {
                "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}
            }
        },
    )
    async def post_request(
        request: Request, fmt: str, idempotency_key: IdempotencyKey = None
    ) -> Response:
        """`api_key` (form field or query parameter, or a bearer token) is required here."""
        if (chosen := _format(fmt)) is None:
            return _unknown_format(fmt)
        data, problems = parse_form(await request.body())
        # The credential, not part of the request: a signed token is longer than any text field.
        token = (
            data.pop("api_key", None) or request.query_params.get("api_key") or token_of(request)
        )
        try:
            caller = authenticate(auth, token if isinstance(token, str) else None)
            wiring.submitter(caller, Role.OPERATOR)
        except Refused as refusal:
            return _refused(refusal, chosen)
        if problems:
            return georeport.errors(422, problems, chosen)
        try:
            parsed = ServiceRequest.model_validate(data)
        except ValidationError as error:
            named: list[FieldError] = [
                {"field": _field_name(entry["field"]), "message": entry["message"]}
                for entry in field_errors(error.errors(include_url=False))
            ]
            return georeport.errors(422, named, chosen)
        radius = settings.geo_radius_km
        outcome = intake.submit(
            signed(lambda ids: open311_draft(parsed, ids, sealer, wiring.registry, radius), caller),
            key=f"open311:{idempotency_key}" if idempotency_key else None,
            fingerprint=hashlib.sha256(parsed.model_dump_json().encode()).hexdigest(),
        )
        result = await settle(outcome, settings, logger, refusals=GeoReportRefusals(chosen))
        if isinstance(result, Response):
            return result
        assert isinstance(result, Accepted)  # no Open311 request is "not a dispute"
        filed = {
            "service_request_id": result.dispute.tracking_number,
            "service_notice": "已受理，将由所在村镇调解组织处理",
            "account_id": None,
        }
        return georeport.render(chosen, "service_requests", [filed], status_code=201)

    @router.get("/requests/{request_id}.{fmt}")
    async def get_request(request_id: str, fmt: str) -> Response:
        if (chosen := _format(fmt)) is None:
            return _unknown_format(fmt)
        view = await public.one(request_id)
        if view is None:
            missing: list[FieldError] = [{"field": "service_request_id", "message": "not found"}]
            return georeport.errors(404, missing, chosen)
        return georeport.render(chosen, "service_requests", [view])

    return router
