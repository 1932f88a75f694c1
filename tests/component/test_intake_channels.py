"""Each channel turns one report into one DisputeReported event, on faststream's test broker."""

from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from contracts import topics
from contracts.events import DisputeReported, deterministic_event_id
from services.privacy import Sealer
from tests.component.intake_helpers import call, intake_app
from tests.factories import (
    JIANGHE,
    JIANGHE_GRID,
    VALID_ID_NUMBER,
    grid_body,
    hotline_body,
    open311_form,
    petition_body,
    wechat_body,
)

HUAYUAN = "hanyin-chengguan-huayuan"


def events(captured: Any) -> list[DisputeReported]:
    return [DisputeReported.model_validate_json(body) for body in captured.bodies]


async def test_hotline_grid_and_address_text_are_resolved(capture: Any) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    by_grid = hotline_body(village_id=None, grid_id=JIANGHE_GRID)
    by_words = hotline_body(village_id=None, address_text="双乳镇江河村三组")
    unknown = hotline_body(village_id=None, address_text="外省某地")
    async with TestKafkaBroker(app.state.broker):
        answers = [
            await call(app, "POST", "/v1/disputes", json=b) for b in (by_grid, by_words, unknown)
        ]
    assert [a.status_code for a in answers] == [202, 202, 202]
    grid, words, lost = (event.dispute for event in events(captured))
    assert (grid.village_id, grid.grid_id, grid.needs_triage) == (JIANGHE, JIANGHE_GRID, False)
    assert (words.village_id, words.needs_triage) == (JIANGHE, False)
    assert lost.village_id is None
    assert lost.needs_triage
    assert "no town or village" in (lost.triage_reason or "")
    assert answers[2].json()["needs_triage"] is True


async def test_caller_is_sealed_and_becomes_a_party_only_when_one(capture: Any) -> None:
    app, store = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    caller = {"name": "钱来电", "phone": "13500001111"}
    async with TestKafkaBroker(app.state.broker):
        await call(app, "POST", "/v1/disputes", json=hotline_body(caller=caller))
        await call(
            app, "POST", "/v1/disputes", json=hotline_body(caller=caller | {"is_party": True})
        )
    not_party, party = (event.dispute for event in events(captured))
    assert len(not_party.parties) == 1
    assert len(party.parties) == 2
    assert b"13500001111" not in b"".join(captured.bodies)
    kept = store.collections["disputes"][not_party.dispute_id]["private"]["caller"]
    assert Sealer().open(kept) == caller


async def test_wechat_dispute_triage_and_not_a_dispute(capture: Any) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    clear = wechat_body()
    unclear = wechat_body(text="有人对村里分配不满，想找村里评评理")
    notice = wechat_body(text="@所有人 明天上午九点在村委会开会")
    async with TestKafkaBroker(app.state.broker):
        answers = [
            await call(app, "POST", "/v1/channels/wechat/messages", json=body)
            for body in (clear, unclear, notice)
        ]
    assert [a.status_code for a in answers] == [202, 202, 200]
    assert answers[2].json()["status"] == "not_a_dispute"
    assert "开会" in answers[2].json()["reason"]
    first, second = (event.dispute for event in events(captured))
    assert (first.channel, first.village_id, first.needs_triage) == ("wechat", HUAYUAN, False)
    assert first.category == "neighbour"
    assert second.needs_triage
    assert "不满" in (second.triage_reason or "")


async def test_repeated_wechat_message_is_a_no_op_with_the_same_answer(capture: Any) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    message, notice = wechat_body(), wechat_body(text="收到，谢谢书记")
    async with TestKafkaBroker(app.state.broker):
        answers = [
            await call(app, "POST", "/v1/channels/wechat/messages", json=body)
            for body in (message, message, notice, notice)
        ]
    assert answers[0].json() == answers[1].json()
    assert answers[2].json() == answers[3].json()
    assert [a.status_code for a in answers] == [202, 202, 200, 200]
    assert len(captured.bodies) == 1


async def test_unknown_wechat_group_is_accepted_for_triage(capture: Any) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    async with TestKafkaBroker(app.state.broker):
        answer = await call(
            app, "POST", "/v1/channels/wechat/messages", json=wechat_body(group_id="999@chatroom")
        )
    assert answer.status_code == 202
    dispute = events(captured)[0].dispute
    assert dispute.village_id is None
    assert "999@chatroom" in (dispute.triage_reason or "")


async def test_grid_report_keeps_households_and_colours(capture: Any) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    async with TestKafkaBroker(app.state.broker):
        answer = await call(app, "POST", "/v1/channels/grid/reports", json=grid_body())
    assert answer.status_code == 202
    dispute = events(captured)[0].dispute
    assert (dispute.channel, dispute.grid_id, dispute.village_id) == ("grid", JIANGHE_GRID, JIANGHE)
    assert [(p.household_id, p.household_color) for p in dispute.parties] == [
        (f"{JIANGHE}-h012", "red"),
        (f"{JIANGHE}-h013", "green"),
    ]


async def test_petitioner_identity_is_sealed_and_redacted_from_the_text(capture: Any) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    body = petition_body(demands=["请联系赵秀英 13798765432", f"身份证{VALID_ID_NUMBER}"])
    async with TestKafkaBroker(app.state.broker):
        answer = await call(app, "POST", "/v1/channels/petitions", json=body)
    assert answer.status_code == 202
    raw = captured.bodies[0]
    for secret in ("赵秀英", "13798765432", VALID_ID_NUMBER):
        assert secret.encode() not in raw
    dispute = events(captured)[0].dispute
    assert dispute.channel == "petition"
    assert "诉求" in dispute.description
    petitioner = dispute.parties[0]
    assert petitioner.phone_hash
    assert Sealer().open(petitioner.sealed_contact or "") == {
        "name": "赵秀英",
        "id_number": VALID_ID_NUMBER,
        "phone": "13798765432",
    }


async def test_open311_request_is_filed_and_followed(capture: Any) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    form = open311_form() | {"attribute[risk_flags][]": "group_incident"}
    async with TestKafkaBroker(app.state.broker):
        services = await call(app, "GET", "/open311/v2/services.json")
        answer = await call(app, "POST", "/open311/v2/requests.json", data=form)
        request_id = answer.json()[0]["service_request_id"]
        followed = await call(app, "GET", f"/open311/v2/requests/{request_id}.json")
    assert {s["service_code"] for s in services.json()} >= {"neighbour", "wage_arrears"}
    assert answer.status_code == 201
    dispute = events(captured)[0].dispute
    assert (dispute.channel, dispute.village_id) == ("open311", HUAYUAN)
    assert dispute.people_involved == 12
    assert dispute.risk_flags == ("group_incident",)
    assert dispute.tracking_number == request_id
    assert followed.json()[0]["status"] == "open"
    assert followed.json()[0]["service_request_id"] == request_id


async def test_open311_far_coordinates_need_triage(capture: Any) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    async with TestKafkaBroker(app.state.broker):
        answer = await call(
            app, "POST", "/open311/v2/requests.json", data=open311_form(lat="39.9", long="116.4")
        )
    assert answer.status_code == 201
    dispute = events(captured)[0].dispute
    assert dispute.needs_triage
    assert "km" in (dispute.triage_reason or "")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/disputes", hotline_body()),
        ("/v1/channels/grid/reports", grid_body()),
        ("/v1/channels/petitions", petition_body()),
    ],
)
async def test_same_idempotency_key_gives_the_same_dispute_once(
    capture: Any, path: str, body: dict[str, Any]
) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    headers = {"Idempotency-Key": "call-2026-11-22-0001"}
    async with TestKafkaBroker(app.state.broker):
        answers = [await call(app, "POST", path, json=body, headers=headers) for _ in range(3)]
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["dispute_id"] for a in answers}) == 1
    assert len({a.json()["tracking_number"] for a in answers}) == 1
    assert len(captured.bodies) == 1
    event = events(captured)[0]
    assert event.event_id == deterministic_event_id(event.dispute.dispute_id, "reported")


async def test_a_key_reused_for_another_report_is_a_conflict(capture: Any) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    headers = {"Idempotency-Key": "reused"}
    async with TestKafkaBroker(app.state.broker):
        first = await call(app, "POST", "/v1/disputes", json=hotline_body(), headers=headers)
        other = hotline_body(description="另一件事：借钱不还")
        second = await call(app, "POST", "/v1/disputes", json=other, headers=headers)
    assert first.status_code == 202
    assert second.status_code == 409
    assert second.json()["fields"][0]["field"] == "Idempotency-Key"
    assert len(captured.bodies) == 1


async def test_same_party_village_and_category_within_a_week_is_a_possible_duplicate(
    capture: Any,
) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    formatted = hotline_body(
        parties=[{"name": "李四", "phone": "139-1234-5678", "village_id": JIANGHE}]
    )
    async with TestKafkaBroker(app.state.broker):
        first = await call(app, "POST", "/v1/disputes", json=hotline_body())
        again = await call(app, "POST", "/v1/disputes", json=formatted)
        other_category = await call(
            app, "POST", "/v1/disputes", json=hotline_body(category="contract_debt")
        )
    assert again.json()["possible_duplicate_of"] == first.json()["dispute_id"]
    assert other_category.json()["possible_duplicate_of"] is None
    linked = events(captured)[1].dispute
    assert linked.possible_duplicate_of == first.json()["dispute_id"]
    assert "13912345678" not in linked.match_keys()[0]
