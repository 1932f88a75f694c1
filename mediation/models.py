"""The case document and its views. Pure: no I/O here."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from contracts.events import CaseAssigned, CaseRouted, RoutingStep, deterministic_event_id
from contracts.vocabulary import CaseState, Category, Channel, Priority, Tier

OPEN_STATES = (CaseState.ASSIGNED, CaseState.ACCEPTED, CaseState.IN_MEDIATION, CaseState.REOPENED)


def case_document(routed: CaseRouted) -> dict[str, Any]:
    """A new case as stored: keyed by case id so a redelivered event cannot create a second one."""
    dispute = routed.dispute
    return {
        "_id": routed.case_id,
        "tracking_number": dispute.tracking_number,
        "state": CaseState.ASSIGNED.value,
        "tier": routed.tier.value,
        "unit_id": routed.unit_id,
        "mediator_id": routed.mediator_id,
        "priority": routed.priority.value,
        "priority_rank": routed.priority.rank,
        "urgent": routed.urgent,
        "acceptance_due_at": routed.acceptance_due_at,
        "resolution_due_at": routed.resolution_due_at,
        "routing_seq": routed.routing_seq,
        "reported_at": routed.dispute.incident_at,
        "channel": dispute.channel.value,
        "category": dispute.category.value,
        "village_id": dispute.village_id,
        "dispute": dispute.model_dump(mode="json"),
        "trace": [step.model_dump(mode="json") for step in routed.trace],
        "timeline": [
            {"at": routed.occurred_at, "event": "assigned", "unit_id": routed.unit_id},
        ],
    }


def assigned_event(routed: CaseRouted) -> CaseAssigned:
    """Same routing, same event id: re-announcing after a crash duplicates nothing downstream."""
    return CaseAssigned(
        event_id=deterministic_event_id(routed.case_id, "assigned", str(routed.routing_seq)),
        occurred_at=routed.occurred_at,
        correlation_id=routed.correlation_id,
        case_id=routed.case_id,
        routing_seq=routed.routing_seq,
        tracking_number=routed.dispute.tracking_number,
        tier=routed.tier,
        unit_id=routed.unit_id,
        mediator_id=routed.mediator_id,
        priority=routed.priority,
        acceptance_due_at=routed.acceptance_due_at,
    )


class QueueItem(BaseModel):
    case_id: str = Field(validation_alias="_id")
    tracking_number: str
    state: CaseState
    tier: Tier
    unit_id: str
    mediator_id: str | None
    priority: Priority
    urgent: bool
    category: Category
    channel: Channel
    village_id: str | None
    acceptance_due_at: datetime
    resolution_due_at: datetime


class CaseView(QueueItem):
    dispute: dict[str, Any]
    trace: list[RoutingStep]
    timeline: list[dict[str, Any]]
