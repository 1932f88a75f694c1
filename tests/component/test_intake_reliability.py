"""Nothing acknowledged is lost, nothing refused is half-recorded, retries never fork."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError
from faststream.kafka import TestKafkaBroker

from contracts import topics
from contracts.events import DisputeReported, Event
from intake.tracking import TrackingNumbers
from services.publishing import EventPublisher
from tests.component.intake_helpers import call, intake_app
from tests.factories import hotline_body
from tests.fakes import InMemoryIntakeStore

Publish = Callable[[EventPublisher, Event], Awaitable[None]]
ORIGINAL_PUBLISH: Publish = EventPublisher.publish
KEY = {"Idempotency-Key": "op-7-call-0001"}


def failing_publish(failures: list[BaseException], *, after_send: bool) -> Publish:
    """Fails while `failures` has items; `after_send` delivers first (an ambiguous failure:
    Kafka has the event but the acknowledgement never came back)."""

    async def publish(self: EventPublisher, event: Event) -> None:
        if failures and not after_send:
            raise failures.pop(0)
        await ORIGINAL_PUBLISH(self, event)
        if failures:
            raise failures.pop(0)

    return publish


async def test_retry_after_an_ambiguous_failure_resends_the_same_event(
    capture: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    failures: list[BaseException] = [TimeoutError("acknowledgement lost")]
    monkeypatch.setattr(EventPublisher, "publish", failing_publish(failures, after_send=True))
    async with TestKafkaBroker(app.state.broker):
        first = await call(app, "POST", "/v1/disputes", json=hotline_body(), headers=KEY)
        retry = await call(app, "POST", "/v1/disputes", json=hotline_body(), headers=KEY)
        again = await call(app, "POST", "/v1/disputes", json=hotline_body(), headers=KEY)
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "5"
    assert retry.status_code == again.status_code == 202
    assert retry.json() == again.json()
    sent = [DisputeReported.model_validate_json(body) for body in captured.bodies]
    assert len(sent) == 2  # the lost-ack attempt and the re-send; the third call sends nothing
    assert sent[0] == sent[1]
    assert sent[0].dispute.dispute_id == retry.json()["dispute_id"]


async def test_broker_down_answers_503_and_records_nothing_visible(
    capture: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, store = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    failures: list[BaseException] = [KafkaConnectionError("broker down")]
    monkeypatch.setattr(EventPublisher, "publish", failing_publish(failures, after_send=False))
    async with TestKafkaBroker(app.state.broker):
        down = await call(app, "POST", "/v1/disputes", json=hotline_body())
        later = await call(app, "POST", "/v1/disputes", json=hotline_body())
        status = await call(app, "GET", f"/v1/disputes/{later.json()['dispute_id']}")
    assert down.status_code == 503
    assert int(down.headers["Retry-After"]) > 0
    assert "retry" in down.json()["message"]
    assert later.status_code == 202
    assert status.status_code == 200
    assert len(captured.bodies) == 1
    assert list(store.collections["disputes"]) == [later.json()["dispute_id"]]
    assert not store.collections.get("requests")  # keyless: nothing reserved
    assert not store.collections.get("outbox")


async def test_broker_down_then_retry_with_the_key_keeps_the_reserved_ids(
    capture: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, store = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    failures: list[BaseException] = [KafkaConnectionError("broker down")]
    monkeypatch.setattr(EventPublisher, "publish", failing_publish(failures, after_send=False))
    async with TestKafkaBroker(app.state.broker):
        down = await call(app, "POST", "/v1/disputes", json=hotline_body(), headers=KEY)
        reserved = next(iter(store.collections["requests"].values()))
        missing = await call(app, "GET", f"/v1/disputes/{reserved['tracking_number']}")
        retry = await call(app, "POST", "/v1/disputes", json=hotline_body(), headers=KEY)
    assert down.status_code == 503
    assert missing.status_code == 404
    assert retry.status_code == 202
    assert retry.json()["dispute_id"] == reserved["dispute_id"]
    assert retry.json()["tracking_number"] == reserved["tracking_number"]
    assert len(captured.bodies) == 1


async def test_database_down_answers_503_and_publishes_nothing(capture: Any) -> None:
    app, store = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    store.down = True
    async with TestKafkaBroker(app.state.broker):
        response = await call(app, "POST", "/v1/disputes", json=hotline_body(), headers=KEY)
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert captured.bodies == []


async def test_concurrent_reports_are_published_together_not_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every request's publish is in flight at once, so the producer can batch them."""
    app, _ = intake_app()
    concurrent = 20
    in_flight: list[Event] = []
    all_waiting = asyncio.Event()

    async def publish(self: EventPublisher, event: Event) -> None:
        in_flight.append(event)
        if len(in_flight) == concurrent:
            all_waiting.set()
        await asyncio.wait_for(all_waiting.wait(), timeout=10)  # fails if publishes serialise
        await ORIGINAL_PUBLISH(self, event)

    monkeypatch.setattr(EventPublisher, "publish", publish)
    async with TestKafkaBroker(app.state.broker):
        answers = await asyncio.gather(
            *(call(app, "POST", "/v1/disputes", json=hotline_body()) for _ in range(concurrent))
        )
    assert [a.status_code for a in answers] == [202] * concurrent


async def test_tracking_numbers_are_unique_per_day_across_processes_and_restarts() -> None:
    store = InMemoryIntakeStore()
    first, second = TrackingNumbers(store, "HY"), TrackingNumbers(store, "HY")
    now = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    numbers = await asyncio.gather(
        *(allocator.next(now) for allocator in (first, second) for _ in range(30))
    )
    assert sorted(numbers) == [f"HY-20261122-{n:06d}" for n in range(1, 61)]
    assert all(
        n.startswith("HY-20261122-") and len(n) == len("HY-20261122-000001") for n in numbers
    )
    restarted = await TrackingNumbers(store, "HY").next(now)
    assert restarted == "HY-20261122-000061"
    tomorrow = await first.next(datetime(2026, 11, 22, 16, 0, tzinfo=UTC))  # 00:00 in China
    assert tomorrow == f"HY-{date(2026, 11, 23):%Y%m%d}-000001"
