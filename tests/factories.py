"""Builders of valid events and bodies, so each test states only what it is about."""

import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.events import CaseRouted, Dispute, DisputeReported, Party
from contracts.registry import hanyin
from contracts.vocabulary import Category, Channel, HouseholdColor, RiskFlag
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
