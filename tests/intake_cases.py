"""The bad-input table of intake, shared by the component and integration rings.

Each row builds its request around a marker placed in clear-text fields (description, a
party's name, the sender's nickname), so a test can prove no event carrying it was published.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.factories import (
    JIANGHE,
    grid_body,
    hotline_body,
    open311_form,
    petition_body,
    wechat_body,
)

HOTLINE = "/v1/disputes"
WECHAT = "/v1/channels/wechat/messages"
GRID = "/v1/channels/grid/reports"
PETITION = "/v1/channels/petitions"
OPEN311 = "/open311/v2/requests.json"
FUTURE = "2999-01-01T00:00:00+08:00"


@dataclass(frozen=True)
class BadInput:
    name: str
    path: str
    build: Callable[[str], Any]
    """marker → dict (JSON), bytes (raw JSON), {"form": ...} (form-encoded) or {"raw_form":
    bytes} (a form body as sent)."""
    status: int
    field: str


def without(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in keys}


def hotline(marker: str, **overrides: Any) -> dict[str, Any]:
    party = {"name": marker, "village_id": JIANGHE, "household_color": "green"}
    body = hotline_body(description=f"{marker} 两户吵架", parties=[party])
    return body | overrides


def grid(marker: str, **overrides: Any) -> dict[str, Any]:
    reporter = {"worker_id": "gw-0042", "name": marker}
    return grid_body(description=f"{marker} 宅基地纠纷", reporter=reporter) | overrides


def petition(marker: str, **overrides: Any) -> dict[str, Any]:
    return petition_body(description=f"{marker} 征地补偿", parties=[{"name": marker}]) | overrides


def wechat(marker: str, **overrides: Any) -> dict[str, Any]:
    return wechat_body(text=f"{marker} 吵架了", sender={"nickname": marker}) | overrides


def form(marker: str, **overrides: str) -> dict[str, Any]:
    return {"form": open311_form(description=f"{marker} 欠薪", first_name=marker) | overrides}


def raw_json(body: dict[str, Any]) -> bytes:
    """JSON as a client may send it: ASCII, every other code point escaped (`\\ud800` too)."""
    return json.dumps(body, ensure_ascii=True).encode()


def raw_form(marker: str, description: bytes) -> dict[str, Any]:
    """A form whose description is sent as these percent-escaped bytes."""
    fields = urlencode(form(marker, description=marker)["form"]).encode()
    return {"raw_form": fields.replace(marker.encode(), marker.encode() + description, 1)}


def _bad_id(marker: str) -> dict[str, Any]:
    petitioner = petition_body()["petitioner"] | {"id_number": "610921198001010011"}
    return petition(marker, petitioner=petitioner)


def _no_location(marker: str) -> dict[str, Any]:
    return {"form": without(form(marker)["form"], "lat", "long")}


BAD_INPUTS: list[BadInput] = [
    BadInput("malformed JSON", HOTLINE, lambda m: f'{{"description": "{m}",'.encode(), 422, "body"),
    BadInput("not JSON at all", GRID, lambda m: f"grid_id={m}".encode(), 422, "body"),
    BadInput(
        "wrong type: number",
        HOTLINE,
        lambda m: hotline(m, people_involved="many"),
        422,
        "people_involved",
    ),
    BadInput(
        "wrong type: list", HOTLINE, lambda m: hotline(m, risk_flags="weapon"), 422, "risk_flags"
    ),
    BadInput("wrong type: object", GRID, lambda m: grid(m, reporter=m), 422, "reporter"),
    BadInput("unknown channel", HOTLINE, lambda m: hotline(m, channel="fax"), 422, "channel"),
    BadInput("unknown field", HOTLINE, lambda m: hotline(m, urgent=True), 422, "urgent"),
    BadInput("unknown category", HOTLINE, lambda m: hotline(m, category="gossip"), 422, "category"),
    BadInput(
        "unknown village",
        HOTLINE,
        lambda m: hotline(m, village_id="hanyin-nowhere-x"),
        422,
        "village_id",
    ),
    BadInput(
        "malformed village", HOTLINE, lambda m: hotline(m, village_id="江河村"), 422, "village_id"
    ),
    BadInput(
        "unknown party village",
        HOTLINE,
        lambda m: hotline(m, parties=[{"name": m, "village_id": "hanyin-a-b"}]),
        422,
        "parties.0.village_id",
    ),
    BadInput("unknown grid", GRID, lambda m: grid(m, grid_id=f"{JIANGHE}-g99"), 422, "grid_id"),
    BadInput(
        "grid outside village",
        HOTLINE,
        lambda m: hotline(m, grid_id="hanyin-chengguan-huayuan-g01"),
        422,
        "grid_id",
    ),
    BadInput("no place", HOTLINE, lambda m: hotline(m, village_id=None), 422, "body"),
    BadInput(
        "empty description", HOTLINE, lambda m: hotline(m, description=""), 422, "description"
    ),
    BadInput(
        "blank description", PETITION, lambda m: petition(m, description=" \n "), 422, "description"
    ),
    BadInput(
        "description over 10,000 characters",
        HOTLINE,
        lambda m: hotline(m, description="吵" * 10_001),
        422,
        "description",
    ),
    BadInput("body over 64 KiB", HOTLINE, lambda m: hotline(m, notes="x" * 70_000), 413, "body"),
    BadInput(
        "invalid phone",
        HOTLINE,
        lambda m: hotline(m, parties=[{"name": m, "phone": "12345"}]),
        422,
        "parties.0.phone",
    ),
    BadInput(
        "invalid caller phone",
        HOTLINE,
        lambda m: hotline(m, caller={"phone": "call me"}),
        422,
        "caller.phone",
    ),
    BadInput("invalid ID number", PETITION, _bad_id, 422, "petitioner.id_number"),
    BadInput(
        "occurred_at in the future",
        HOTLINE,
        lambda m: hotline(m, occurred_at=FUTURE),
        422,
        "occurred_at",
    ),
    BadInput(
        "occurred_at without a zone",
        HOTLINE,
        lambda m: hotline(m, occurred_at="2026-11-20T09:30:00"),
        422,
        "occurred_at",
    ),
    BadInput("sent_at in the future", WECHAT, lambda m: wechat(m, sent_at=FUTURE), 422, "sent_at"),
    BadInput(
        "$ key",
        HOTLINE,
        lambda m: hotline(m, parties=[{"name": m, "$where": "1"}]),
        422,
        "parties.0.$where",
    ),
    BadInput("$ key at the top", GRID, lambda m: grid(m) | {"$set": {"x": 1}}, 422, "$set"),
    BadInput(
        "dotted key",
        PETITION,
        lambda m: petition(m, petitioner={"name.first": m}),
        422,
        "petitioner.name.first",
    ),
    BadInput(
        "control character",
        HOTLINE,
        lambda m: hotline(m, description=f"{m} 吵架\u0007了"),
        422,
        "description",
    ),
    BadInput(
        "NUL in a field",
        GRID,
        lambda m: grid(m, reporter={"worker_id": "gw\u0000", "name": m}),
        422,
        "reporter.worker_id",
    ),
    BadInput(
        "lone surrogate",
        HOTLINE,
        lambda m: raw_json(hotline(m, description=f"{m} \ud800 吵架")),
        422,
        "description",
    ),
    BadInput(
        "lone low surrogate in a party's name",
        PETITION,
        lambda m: raw_json(petition(m, parties=[{"name": f"{m}\udc00"}])),
        422,
        "parties.0.name",
    ),
    BadInput(
        "surrogates in the wrong order",
        WECHAT,
        lambda m: raw_json(wechat(m, text=f"{m} \ude00\ud83d 吵架了")),
        422,
        "text",
    ),
    BadInput(
        "lone surrogate in a key",
        GRID,
        lambda m: raw_json(grid(m) | {"x\ud800": m}),
        422,
        "x\\ud800",
    ),
    BadInput(
        "a surrogate's bytes in JSON",  # not UTF-8; Python's parser lets them through
        HOTLINE,
        lambda m: (
            json.dumps(hotline(m, description="DESCRIPTION"))
            .encode()
            .replace(b"DESCRIPTION", b"\xed\xa0\x80")
        ),
        422,
        "description",
    ),
    BadInput(
        "JSON that is not UTF-8",
        GRID,
        lambda m: (
            json.dumps(grid(m, description="DESCRIPTION"))
            .encode()
            .replace(b"DESCRIPTION", b"\xff\xfe")
        ),
        422,
        "body",
    ),
    BadInput("WeChat message with empty text", WECHAT, lambda m: wechat(m, text=""), 422, "text"),
    BadInput(
        "WeChat message without text", WECHAT, lambda m: without(wechat(m), "text"), 422, "text"
    ),
    BadInput(
        "grid party without household",
        GRID,
        lambda m: grid(m, parties=[{"name": m, "household_color": "red"}]),
        422,
        "parties.0.household_id",
    ),
    BadInput(
        "petition without demands", PETITION, lambda m: petition(m, demands=[]), 422, "demands"
    ),
    BadInput(
        "Open311 unknown service",
        OPEN311,
        lambda m: form(m, service_code="gossip"),
        400,
        "service_code",
    ),
    BadInput("Open311 no location", OPEN311, _no_location, 400, "body"),
    BadInput(
        "Open311 empty description", OPEN311, lambda m: form(m, description=""), 400, "description"
    ),
    BadInput(
        "Open311 control character",
        OPEN311,
        lambda m: form(m, description=f"{m}\u0001"),
        400,
        "description",
    ),
    BadInput(
        "Open311 escaped bytes that are not UTF-8",
        OPEN311,
        lambda m: raw_form(m, b"%ED%A0%80"),
        400,
        "description",
    ),
    BadInput("Open311 unknown field", OPEN311, lambda m: form(m, color="red"), 400, "color"),
    BadInput(
        "Open311 bad attribute",
        OPEN311,
        lambda m: form(m, **{"attribute[people_involved]": "many"}),
        400,
        "attribute[people_involved]",
    ),
    BadInput("Open311 invalid phone", OPEN311, lambda m: form(m, phone="110"), 400, "phone"),
    BadInput(
        "Open311 body over 64 KiB",
        OPEN311,
        lambda m: form(m, description="x" * 70_000),
        413,
        "body",
    ),
]


def request_of(row: BadInput, marker: str) -> dict[str, Any]:
    """httpx keyword arguments sending the row's body as its client would."""
    body = row.build(marker)
    if isinstance(body, bytes):
        return {"content": body, "headers": {"content-type": "application/json"}}
    if "form" in body:
        return {"data": body["form"]}
    if "raw_form" in body:
        form_type = "application/x-www-form-urlencoded"
        return {"content": body["raw_form"], "headers": {"content-type": form_type}}
    return {"json": body}


def refused_fields(body: Any) -> list[str]:
    """Field names of an intake refusal, or of a GeoReport one (`field: message`)."""
    if isinstance(body, list):
        return [entry["description"].split(":", 1)[0] for entry in body]
    return [entry["field"] for entry in body["fields"]]
