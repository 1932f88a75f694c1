"""Every bad input is refused with a 4xx naming the field, and nothing reaches Kafka."""

import json
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from contracts import topics
from tests.component.intake_helpers import call, fields_of, intake_app
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
JSON_TYPE = {"content-type": "application/json"}


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


# (name, path, body: dict → JSON, bytes → raw, "form:" dict → form, status, field)
BAD_INPUTS: list[tuple[str, str, Any, int, str]] = [
    ("malformed JSON", HOTLINE, b'{"channel": "hotline",', 422, "body"),
    ("not JSON at all", GRID, b"grid_id=x", 422, "body"),
    ("wrong type: number", HOTLINE, hotline_body(people_involved="many"), 422, "people_involved"),
    ("wrong type: list", HOTLINE, hotline_body(parties="李四"), 422, "parties"),
    ("wrong type: object", GRID, grid_body(reporter="gw-1"), 422, "reporter"),
    ("unknown channel", HOTLINE, hotline_body(channel="fax"), 422, "channel"),
    ("unknown field", HOTLINE, hotline_body(urgent=True), 422, "urgent"),
    ("unknown category", HOTLINE, hotline_body(category="gossip"), 422, "category"),
    ("unknown village", HOTLINE, hotline_body(village_id="hanyin-nowhere-x"), 422, "village_id"),
    ("malformed village", HOTLINE, hotline_body(village_id="江河村"), 422, "village_id"),
    (
        "unknown party village",
        HOTLINE,
        hotline_body(parties=[{"name": "李四", "village_id": "hanyin-a-b"}]),
        422,
        "parties.0.village_id",
    ),
    ("unknown grid", GRID, grid_body(grid_id=f"{JIANGHE}-g99"), 422, "grid_id"),
    ("grid outside village", HOTLINE, hotline_body(grid_id="hanyin-chengguan-huayuan-g01"), 422, "grid_id"),
    ("no place", HOTLINE, hotline_body(village_id=None), 422, "body"),
    ("empty description", HOTLINE, hotline_body(description=""), 422, "description"),
    ("blank description", PETITION, petition_body(description="  \n "), 422, "description"),
    ("description over 10,000", HOTLINE, hotline_body(description="吵" * 10_001), 422, "description"),
    ("body over 64 KiB", HOTLINE, hotline_body(notes="x" * 70_000), 413, "body"),
    (
        "invalid phone",
        HOTLINE,
        hotline_body(parties=[{"name": "王五", "phone": "12345"}]),
        422,
        "parties.0.phone",
    ),
    ("invalid caller phone", HOTLINE, hotline_body(caller={"phone": "call me"}), 422, "caller.phone"),
    (
        "invalid ID number",
        PETITION,
        petition_body(petitioner=petition_body()["petitioner"] | {"id_number": "610921198001010011"}),
        422,
        "petitioner.id_number",
    ),
    ("occurred_at in the future", HOTLINE, hotline_body(occurred_at="2999-01-01T00:00:00+08:00"), 422, "occurred_at"),
    ("occurred_at without zone", HOTLINE, hotline_body(occurred_at="2026-11-20T09:30:00"), 422, "occurred_at"),
    ("WeChat sent_at in the future", WECHAT, wechat_body(sent_at="2999-01-01T00:00:00Z"), 422, "sent_at"),
    (
        "$ key",
        HOTLINE,
        hotline_body(parties=[{"name": "李四", "$where": "1"}]),
        422,
        "parties.0.$where",
    ),
    ("$ key at the top", GRID, grid_body(**{"$set": {"x": 1}}), 422, "$set"),
    ("dotted key", PETITION, petition_body(petitioner={"name.first": "赵"}), 422, "petitioner.name.first"),
    ("control character", HOTLINE, hotline_body(description="吵架\u0007了"), 422, "description"),
    ("NUL in a name", GRID, grid_body(reporter={"worker_id": "gw\u0000"}), 422, "reporter.worker_id"),
    ("WeChat message with no text", WECHAT, wechat_body(text=""), 422, "text"),
    ("WeChat message without text", WECHAT, without(wechat_body(), "text"), 422, "text"),
    ("grid party without household", GRID, grid_body(parties=[{"name": "王", "household_color": "red"}]), 422, "parties.0.household_id"),
    ("petition without demands", PETITION, petition_body(demands=[]), 422, "demands"),
    ("Open311 unknown service", OPEN311, {"form": open311_form(service_code="gossip")}, 400, "service_code"),
    ("Open311 no location", OPEN311, {"form": without(without(open311_form(), "lat"), "long")}, 400, "body"),
    ("Open311 empty description", OPEN311, {"form": open311_form(description="")}, 400, "description"),
    ("Open311 control character", OPEN311, {"form": open311_form(description="欠薪\u0001")}, 400, "description"),
    ("Open311 unknown field", OPEN311, {"form": open311_form(color="red")}, 400, "color"),
    ("Open311 bad attribute", OPEN311, {"form": open311_form(**{"attribute[people_involved]": "many"})}, 400, "attribute[people_involved]"),
    ("Open311 invalid phone", OPEN311, {"form": open311_form(phone="110")}, 400, "phone"),
    ("Open311 body over 64 KiB", OPEN311, {"form": open311_form(description="x" * 70_000)}, 413, "body"),
]  # fmt: skip


async def send_bad(app: Any, path: str, body: Any) -> Any:
    if isinstance(body, bytes):
        return await call(app, "POST", path, content=body, headers=JSON_TYPE)
    if "form" in body:
        return await call(app, "POST", path, data=body["form"])
    return await call(app, "POST", path, content=json.dumps(body).encode(), headers=JSON_TYPE)


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [row[1:] for row in BAD_INPUTS],
    ids=[row[0] for row in BAD_INPUTS],
)
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_published(
    capture: Any, path: str, body: Any, status: int, field: str
) -> None:
    app, store = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    async with TestKafkaBroker(app.state.broker):
        response = await send_bad(app, path, body)
    assert response.status_code == status, response.text
    assert field in fields_of(response), response.text
    assert captured.bodies == []
    assert not store.collections.get("disputes")


async def test_a_malformed_idempotency_key_is_refused() -> None:
    app, _ = intake_app()
    async with TestKafkaBroker(app.state.broker):
        response = await call(
            app, "POST", HOTLINE, json=hotline_body(), headers={"Idempotency-Key": "x" * 201}
        )
    assert response.status_code == 422
    assert "header.Idempotency-Key" in fields_of(response)
