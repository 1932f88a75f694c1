"""The audit trail lands in MongoDB and on its topic, on the real servers."""

import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.audit import AuditRecorded
from services.audit import AUDIT, Auditor
from services.auth import Principal, Role
from services.broker import create_broker, ensure_topics
from services.logging import configure_logging
from services.publishing import EventPublisher
from services.settings import ServiceSettings
from tests.integration.conftest import Infra
from tests.integration.kafka_tools import end_offsets, read_until

pytestmark = pytest.mark.integration


async def test_audit_record_is_stored_and_published(
    infra: Infra, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    settings = ServiceSettings(kafka_bootstrap_servers=infra.kafka, service_name="audit-test")
    broker = create_broker(settings, configure_logging("audit-test"))
    publisher = EventPublisher(broker.publisher(topics.AUDIT))
    database = mongo[f"test_audit_{uuid.uuid4().hex[:8]}"]
    principal = Principal(
        subject="med-1", role=Role.MEDIATOR, unit_id="hanyin-shuangru-jianghe", token_id="t1"
    )
    await ensure_topics(infra.kafka)
    start = await end_offsets(infra.kafka, topics.AUDIT)
    await broker.start()
    try:
        event = await Auditor(database, publisher).record(
            principal, "sealed.read", case_id=f"case-{uuid.uuid4()}", unit_id=principal.unit_id
        )
    finally:
        await broker.stop()
    try:
        stored = await database[AUDIT].find_one({"_id": str(event.event_id)})
        assert stored is not None
        assert (stored["actor"], stored["action"], stored["role"]) == (
            "med-1",
            "sealed.read",
            "mediator",
        )
        key = event.correlation_id.encode()
        records = await read_until(infra.kafka, start, lambda seen: any(r.key == key for r in seen))
        published = AuditRecorded.model_validate_json(
            next(r.value for r in records if r.key == key)
        )
        assert published == event
    finally:
        await mongo.drop_database(database.name)
