"""Duplicate links: a report is linked to the earliest report of its match key in the window,
once that one was acknowledged; a report not acknowledged yet is looked up again."""

import pytest
from aiokafka.errors import KafkaConnectionError
from faststream.kafka import TestKafkaBroker

from intake.app import create_app
from intake.settings import IntakeSettings
from services.publishing import EventPublisher
from tests.component.intake_helpers import call
from tests.component.test_intake_reliability import failing_publish
from tests.factories import hotline_body
from tests.fakes import InMemoryIntakeStore


async def test_a_party_seen_before_is_linked_to_its_first_report() -> None:
    store = InMemoryIntakeStore()
    app = create_app(IntakeSettings(duplicate_window_days=7), store=store)
    async with TestKafkaBroker(app.state.broker):
        first = await call(app, "POST", "/v1/disputes", json=hotline_body())
        later = [await call(app, "POST", "/v1/disputes", json=hotline_body()) for _ in range(3)]
        other = await call(app, "POST", "/v1/disputes", json=hotline_body(category="family"))
    assert first.json()["possible_duplicate_of"] is None
    assert [answer.json()["possible_duplicate_of"] for answer in later] == [
        first.json()["dispute_id"]
    ] * 3
    assert other.json()["possible_duplicate_of"] is None


async def test_a_holder_not_yet_acknowledged_is_looked_up_again_until_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app(IntakeSettings(), store=InMemoryIntakeStore())
    key = {"Idempotency-Key": "op-7-call-0002"}
    failures: list[BaseException] = [KafkaConnectionError("broker down")]
    monkeypatch.setattr(EventPublisher, "publish", failing_publish(failures, after_send=False))
    async with TestKafkaBroker(app.state.broker):
        refused = await call(app, "POST", "/v1/disputes", json=hotline_body(), headers=key)
        meanwhile = [await call(app, "POST", "/v1/disputes", json=hotline_body()) for _ in "ab"]
        retried = await call(app, "POST", "/v1/disputes", json=hotline_body(), headers=key)
        after = await call(app, "POST", "/v1/disputes", json=hotline_body())
    assert refused.status_code == 503
    # the earliest report of the window is the refused one, not acknowledged yet
    assert [answer.json()["possible_duplicate_of"] for answer in meanwhile] == [None, None]
    assert retried.status_code == 202
    assert after.json()["possible_duplicate_of"] == retried.json()["dispute_id"]
