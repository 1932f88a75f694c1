"""Builders of valid events and bodies, so each test states only what it is about."""

import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.events import CaseEscalationRequested, CaseRouted, Dispute, DisputeReported, Party
from contracts.registry import hanyin
from contracts.vocabulary import Category, Channel, EscalationReason, HouseholdColor, RiskFlag
from router.policy import Policy
from router.rules import route

JIANGHE = "hanyin-shuangru-jianghe"


def dispute(**overrides: Any) -> Dispute:
    dispute_id = overrides.pop("dispute_id", str(uuid.uuid4()))
    fields: dict[str, Any] = {
        "dispute_id": dispute_id,
        "tracking_number": f"HY-20261122-{dispute_id[:6].upper()}",
        "channel": Channel.HOTLINE,
        "category": Category.NEIGHBOUR,
        "description": "邻居因宅基地边界吵架",
        "village_id": JIANGHE,
        "parties": (Party(name="张三", household_color=HouseholdColor.GREEN),),
        "people_involved": 2,
    }
    fields.update(overrides)
    return Dispute(**fields)


def reported(
    *,
    colors: tuple[HouseholdColor, ...] = (),
    risk_flags: tuple[RiskFlag, ...] = (),
    occurred_at: datetime | None = None,
    **overrides: Any,
) -> DisputeReported:
    if colors:
        overrides["parties"] = tuple(
            Party(name=f"p{i}", household_color=c) for i, c in enumerate(colors)
        )
    body = dispute(risk_flags=risk_flags, **overrides)
    return DisputeReported(
        occurred_at=occurred_at or datetime.now(UTC),
        correlation_id=body.dispute_id,
        dispute=body,
    )


def routed(**overrides: Any) -> CaseRouted:
    return route(reported(**overrides), Policy(), hanyin(), datetime.now(UTC))


def hotline_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "hotline",
        "village_id": JIANGHE,
        "category": "neighbour",
        "description": "两户因排水沟堵塞发生争吵，请求村里调解",
        "parties": [
            {
                "name": "李四",
                "phone": "13912345678",
                "village_id": JIANGHE,
                "household_color": "yellow",
            }
        ],
        "people_involved": 2,
        "amount_yuan": 0,
        "risk_flags": [],
        "occurred_at": "2026-11-20T09:30:00+08:00",
    }
    body.update(overrides)
    return body


JIANGHE_GRID = f"{JIANGHE}-g03"
WECHAT_GROUP_OF_HUAYUAN = "20000001@chatroom"
VALID_ID_NUMBER = "610921198001010018"
"""Passes the GB 11643 check digit; not a real person's number."""


def wechat_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": f"wxmsg-{uuid.uuid4().hex}",
        "group_id": WECHAT_GROUP_OF_HUAYUAN,
        "sender": {"nickname": "老王", "wxid": "wxid_abc"},
        "text": "隔壁老张家又和我们吵架了，排水沟堵了水都漫到屋里",
        "sent_at": "2026-11-20T09:30:00+08:00",
    }
    body.update(overrides)
    return body


def grid_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "grid_id": JIANGHE_GRID,
        "reporter": {"worker_id": "gw-0042", "name": "陈网格", "role": "grid_worker"},
        "category": "housing_site",
        "description": "翻建房屋时与邻居对宅基地边界界桩位置有争议，已停工",
        "parties": [
            {
                "name": "王建国",
                "phone": "13812345678",
                "household_id": f"{JIANGHE}-h012",
                "household_color": "red",
            },
            {"name": "刘春华", "household_id": f"{JIANGHE}-h013", "household_color": "green"},
        ],
        "people_involved": 2,
        "occurred_at": "2026-11-20T09:30:00+08:00",
    }
    body.update(overrides)
    return body


def petition_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agent_id": "agent-jianghe-1",
        "village_id": JIANGHE,
        "category": "land_requisition",
        "description": "赵秀英反映修路征地青苗补偿算少了",
        "petitioner": {
            "name": "赵秀英",
            "id_number": VALID_ID_NUMBER,
            "phone": "13798765432",
            "village_id": JIANGHE,
            "household_color": "yellow",
        },
        "demands": ["按标准补足青苗补偿", "公开补偿明细"],
        "people_involved": 1,
        "occurred_at": "2026-11-20T09:30:00+08:00",
    }
    body.update(overrides)
    return body


def open311_form(**overrides: str) -> dict[str, str]:
    form = {
        "service_code": "wage_arrears",
        "description": "茶厂拖欠采茶工钱三个月，多次讨要无果",
        "lat": "32.98238",
        "long": "108.43141",
        "first_name": "周",
        "phone": "13611112222",
        "attribute[people_involved]": "12",
    }
    form.update(overrides)
    return form


def escalation_of(
    routed: CaseRouted,
    reason: EscalationReason = EscalationReason.FAILED,
    at: datetime | None = None,
) -> CaseEscalationRequested:
    """Mediation's request to move `routed` one tier up."""
    return CaseEscalationRequested(
        occurred_at=at or datetime.now(UTC),
        correlation_id=routed.correlation_id,
        case_id=routed.case_id,
        tier=routed.tier,
        unit_id=routed.unit_id,
        mediator_id=routed.mediator_id,
        reason=reason,
        routing_seq=routed.routing_seq,
        dispute=routed.dispute,
        trace=routed.trace,
        top=routed.top,
    )
