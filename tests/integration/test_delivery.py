"""Poison events are dead-lettered; redelivered events have their effect once."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.events import CaseAssigned
from services.mongo import insert_new
from tests.auth import as_needed
from tests.factories import JIANGHE, routed
from tests.integration.conftest import Stack
from tests.integration.kafka_tools import end_offsets, produce, read_until
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def test_invalid_event_reaches_the_dead_letter_topic_with_its_origin(stack: Stack) -> None:
    key = f"poison-{uuid.uuid4()}".encode()
    start = await end_offsets(stack.infra.kafka, topics.DEAD_LETTER)
    await produce(stack.infra.kafka, topics.DISPUTES_REPORTED, b'{"event_type": 42}', key)
    records = await read_until(
        stack.infra.kafka, start, lambda seen: any(r.key == key for r in seen)
    )
    dead = next(r for r in records if r.key == key)
    headers = {name: value.decode() for name, value in dead.headers}
    assert dead.value == b'{"event_type": 42}'
    assert headers["x-dlq-original-topic"] == topics.DISPUTES_REPORTED
    assert headers["x-dlq-consumer-group"].startswith("router")
    assert headers["x-dlq-attempts"] == "1"
    assert int(headers["x-dlq-original-offset"]) >= 0
    assert "dispute" in headers["x-dlq-error"]


async def test_same_routed_event_twice_makes_one_case(
    stack: Stack, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    first = routed()
    body = first.model_dump_json().encode()
    key = first.correlation_id.encode()
    # A second case on the same key (so the same partition, after the duplicates) tells us
    # when the duplicates have been processed.
    sentinel = routed().model_copy(update={"correlation_id": first.correlation_id})
    start = await end_offsets(stack.infra.kafka, topics.CASES_LIFECYCLE)
    for value in (body, body, sentinel.model_dump_json().encode()):
        await produce(stack.infra.kafka, topics.CASES_ROUTED, value, key)

    async def sentinel_queued() -> bool:
        async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
            response = await client.get(f"{stack.urls['mediation']}/v1/cases/{sentinel.case_id}")
        return response.status_code == 200

    await eventually(sentinel_queued, what="the sentinel case")
    cases = mongo[stack.database]["cases"]
    assert await cases.count_documents({"_id": first.case_id}) == 1
    stored = await cases.find_one({"_id": first.case_id})
    assert stored is not None
    assert len(stored["timeline"]) == 1
    records = await read_until(
        stack.infra.kafka,
        start,
        lambda seen: any(r.key == key and sentinel.case_id.encode() in r.value for r in seen),
    )
    on_key = [CaseAssigned.model_validate_json(r.value) for r in records if r.key == key]
    announced = [event for event in on_key if event.case_id == first.case_id]
    assert len(announced) >= 1
    assert len({event.event_id for event in announced}) == 1


async def test_insert_new_reports_only_new_ids_on_the_real_server(
    infra: object, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    database = mongo[f"test_insert_{uuid.uuid4().hex[:8]}"]
    try:
        first = await insert_new(database, "things", [{"_id": "a"}, {"_id": "b"}])
        assert first == {"a", "b"}
        now = datetime.now(UTC)
        second = await insert_new(
            database, "things", [{"_id": "b", "at": now}, {"_id": "c", "unit": JIANGHE}]
        )
        assert second == {"c"}
        assert await database["things"].count_documents({}) == 3
    finally:
        await mongo.drop_database(database.name)
