"""Duplicate links of a party seen before come from what the intake remembers, never from a
remembered absence: a holder not yet acknowledged is looked up again."""

from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError
from faststream.kafka import TestKafkaBroker

from intake.app import create_app
from intake.settings import IntakeSettings
from services.mongo import Document
from services.publishing import EventPublisher
from tests.component.intake_helpers import call
from tests.component.test_intake_reliability import failing_publish
from tests.factories import hotline_body
from tests.fakes import InMemoryIntakeStore


class CountingStore(InMemoryIntakeStore):
    """Counts what the duplicate links cost the database."""

    def __init__(self) -> None:
        super().__init__()
        self.claims_sent = 0
        self.reads = 0

    async def claim(self, claims: list[Document]) -> set[Any]:
        self.claims_sent += len(claims)
        return await super().claim(claims)

    async def claim_holder(self, claim_id: str) -> Document | None:
        self.reads += 1
        return await super().claim_holder(claim_id)

    async def dispute(self, dispute_id: str) -> Document | None:
        self.reads += 1
        return await super().dispute(dispute_id)


async def test_a_party_seen_before_is_linked_without_claiming_or_reading_again() -> None:
    store = CountingStore()
    app = create_app(IntakeSettings(duplicate_window_days=7), store=store)
    async with TestKafkaBroker(app.state.broker):
        first = await call(app, "POST", "/v1/disputes", json=hotline_body())
        later = [await call(app, "POST", "/v1/disputes", json=hotline_body()) for _ in range(3)]
        other = await call(app, "POST", "/v1/disputes", json=hotline_body(category="family"))
    assert [answer.json()["possible_duplicate_of"] for answer in later] == [
        first.json()["dispute_id"]
    ] * 3
    assert other.json()["possible_duplicate_of"] is None
    assert store.claims_sent == 2 * 7  # the first report's week, and the other category's
    assert store.reads == 0


async def test_a_holder_not_yet_acknowledged_is_looked_up_again_until_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = CountingStore()
    app = create_app(IntakeSettings(), store=store)
    key = {"Idempotency-Key": "op-7-call-0002"}
    failures: list[BaseException] = [KafkaConnectionError("broker down")]
    monkeypatch.setattr(EventPublisher, "publish", failing_publish(failures, after_send=False))
    async with TestKafkaBroker(app.state.broker):
        refused = await call(app, "POST", "/v1/disputes", json=hotline_body(), headers=key)
        meanwhile = [await call(app, "POST", "/v1/disputes", json=hotline_body()) for _ in "ab"]
        retried = await call(app, "POST", "/v1/disputes", json=hotline_body(), headers=key)
        after = await call(app, "POST", "/v1/disputes", json=hotline_body())
    assert refused.status_code == 503
    # the holder of the day's claims is the refused report, not acknowledged yet
    assert [answer.json()["possible_duplicate_of"] for answer in meanwhile] == [None, None]
    assert retried.status_code == 202
    assert after.json()["possible_duplicate_of"] == retried.json()["dispute_id"]
