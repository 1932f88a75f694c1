"""Writes the audit trail twice: a MongoDB collection to query and a Kafka topic to keep.

Recording happens before the audited answer is given: if the trail cannot be written the
request fails, so nothing sensitive happens unrecorded.
"""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase

from contracts.audit import AuditRecorded
from services.auth import Principal
from services.mongo import Document, insert_new
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


SERVICE_ROLE = "service"
"""The role recorded for what a service decides by itself (a routing decision)."""


def service_event(
    service: str,
    action: str,
    *,
    event_id: UUID,
    occurred_at: datetime,
    actor_unit_id: str,
    case_id: str | None = None,
    unit_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditRecorded:
    """An automatic decision. The id comes from the decision, so a redelivered batch records
    it once in the collection (and consumers of the topic can drop the repeat)."""
    return AuditRecorded(
        event_id=event_id,
        occurred_at=occurred_at,
        correlation_id=case_id or service,
        actor=service,
        role=SERVICE_ROLE,
        actor_unit_id=actor_unit_id,
        action=action,
        outcome="allowed",
        case_id=case_id,
        unit_id=unit_id,
        details=details or {},
    )


def _document(event: AuditRecorded) -> Document:
    return {"_id": str(event.event_id), **event.model_dump(mode="json", exclude={"event_id"})}


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

    async def record_all(self, events: Sequence[AuditRecorded]) -> None: ...


class Auditor:
    def __init__(self, database: AsyncDatabase[Document], publisher: EventPublisher) -> None:
        self._database = database
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
        await self._records.insert_one(_document(event))
        await self._publisher.publish(event)
        return event

    async def record_all(self, events: Sequence[AuditRecorded]) -> None:
        """A consumer batch's records at once: one bulk insert (a repeat is skipped by its
        `_id`) and one pipelined publish, side by side. Returns once both are durable."""
        if not events:
            return
        await asyncio.gather(
            insert_new(self._database, AUDIT, [_document(e) for e in events]),
            self._publisher.publish_all(events),
        )
