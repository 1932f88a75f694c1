"""Writes the audit trail twice: a MongoDB collection to query and a Kafka topic to keep.

Recording happens before the audited answer is given: if the trail cannot be written the
request fails, so nothing sensitive happens unrecorded.
"""

from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pymongo.asynchronous.database import AsyncDatabase

from contracts.audit import AuditRecorded
from services.auth import Principal
from services.mongo import Document
from services.publishing import EventPublisher

AUDIT = "audit"


def audit_event(
    principal: Principal,
    action: str,
    *,
    outcome: Literal["allowed", "denied"] = "allowed",
    case_id: str | None = None,
    unit_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditRecorded:
    return AuditRecorded(
        occurred_at=datetime.now(UTC),
        correlation_id=case_id or principal.subject,
        actor=principal.subject,
        role=principal.role.value,
        actor_unit_id=principal.unit_id,
        action=action,
        outcome=outcome,
        case_id=case_id,
        unit_id=unit_id,
        details=details or {},
    )


class AuditTrail(Protocol):
    async def record(
        self,
        principal: Principal,
        action: str,
        *,
        outcome: Literal["allowed", "denied"] = "allowed",
        case_id: str | None = None,
        unit_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditRecorded: ...


class Auditor:
    def __init__(self, database: AsyncDatabase[Document], publisher: EventPublisher) -> None:
        self._records = database[AUDIT]
        self._publisher = publisher

    async def record(
        self,
        principal: Principal,
        action: str,
        *,
        outcome: Literal["allowed", "denied"] = "allowed",
        case_id: str | None = None,
        unit_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditRecorded:
        event = audit_event(
            principal, action, outcome=outcome, case_id=case_id, unit_id=unit_id, details=details
        )
        await self._records.insert_one(
            {"_id": str(event.event_id), **event.model_dump(mode="json", exclude={"event_id"})}
        )
        await self._publisher.publish(event)
        return event
