"""Each lifecycle event counts exactly once in the metrics, through an aborted batch and
redeliveries: the recorder hands the store whole batches, on the store fake."""

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from contracts.events import CaseAssigned, CaseResolved, Event
from contracts.vocabulary import AgreementForm, Priority, Tier
from mediation.handlers import MetricsRecorder
from mediation.metrics import Contribution
from tests.factories import JIANGHE
from tests.fakes import InMemoryMetricsStore

START = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


class AbortedError(Exception):
    pass


class AbortingStore(InMemoryMetricsStore):
    """The first batch's transaction aborts (the writer died, the database went away)."""

    def __init__(self) -> None:
        super().__init__()
        self.aborts = 1

    async def count(self, contributions: Mapping[str, Contribution]) -> set[str]:
        if self.aborts:
            self.aborts -= 1
            raise AbortedError
        return await super().count(contributions)


def facts(**changes: Any) -> dict[str, Any]:
    return {
        "occurred_at": START,
        "correlation_id": "c1",
        "case_id": "c1",
        "tier": Tier.VILLAGE,
        "unit_id": JIANGHE,
        "origin_tier": Tier.VILLAGE,
        "started_at": START,
        "channel": "hotline",
        "category": "neighbour",
    } | changes


def batch(**changes: Any) -> list[Event]:
    assigned = CaseAssigned(
        event_id=uuid4(),
        **facts(**changes),
        routing_seq=1,
        tracking_number="HY-1",
        priority=Priority.NORMAL,
        acceptance_due_at=START,
    )
    resolved = CaseResolved(
        event_id=uuid4(), **facts(**changes), agreement=AgreementForm.ORAL, on_time=True
    )
    return [assigned, resolved]


def counters(store: InMemoryMetricsStore) -> dict[str, Counter[str]]:
    """Non-zero counts (a case assigned and resolved in one batch moves no backlog)."""
    found: dict[str, Counter[str]] = {d: +Counter(doc["c"]) for d, doc in store.counters.items()}
    return {doc_id: counts for doc_id, counts in found.items() if counts}


async def counted_once(events: list[Event]) -> dict[str, Counter[str]]:
    store = InMemoryMetricsStore()
    for event in events:
        await MetricsRecorder(store).on_lifecycle([event])
    return counters(store)


async def test_a_batch_is_counted_as_its_events_one_by_one() -> None:
    events = batch()
    store = InMemoryMetricsStore()
    await MetricsRecorder(store).on_lifecycle(events)
    assert counters(store) == await counted_once(events)
    assert counters(store)[f"{JIANGHE}|2026-11-22|all|"] == Counter(
        assigned=1, started=1, resolved=1, resolved_on_time=1, resolved_at_origin=1, ttr_00=1
    )


async def test_an_aborted_batch_counts_nothing_and_its_redelivery_counts_once() -> None:
    events = batch()
    store = AbortingStore()
    recorder = MetricsRecorder(store)
    with pytest.raises(AbortedError):
        await recorder.on_lifecycle(events)
    assert store.counters == {}
    await recorder.on_lifecycle(events)
    await recorder.on_lifecycle(events)
    assert counters(store) == await counted_once(events)


async def test_a_redelivered_batch_counts_nothing_more() -> None:
    events = batch()
    store = InMemoryMetricsStore()
    recorder = MetricsRecorder(store)
    await recorder.on_lifecycle(events)
    await recorder.on_lifecycle([*events, *events, *batch(started_at=None)])
    assert counters(store) == await counted_once(events)


async def test_an_event_without_the_case_facts_is_left_to_the_one_with_them() -> None:
    store = InMemoryMetricsStore()
    await MetricsRecorder(store).on_lifecycle(batch(started_at=None))
    assert store.counters == {}
    assert store.applied == set()
