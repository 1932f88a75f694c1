"""Each lifecycle event counts exactly once in the metrics, whichever step a crash interrupts
and whoever finishes the batch: the recorder's journal, marks and guards, on the store fake."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from contracts.events import CaseAssigned, CaseResolved, Event
from contracts.vocabulary import AgreementForm, Priority, Tier
from mediation.handlers import MetricsRecorder
from mediation.metrics import Increment
from mediation.metrics_store import Journal
from tests.factories import JIANGHE
from tests.fakes import InMemoryMetricsStore

START = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


class CrashError(Exception):
    pass


class CrashingStore(InMemoryMetricsStore):
    """Fails once at `step`; in `increment`, after reaching `after_docs` documents."""

    def __init__(self, step: str, after_docs: int = 0) -> None:
        super().__init__()
        self.step, self.after_docs = step, after_docs

    def _crash_at(self, step: str) -> None:
        if self.step == step:
            self.step = ""
            raise CrashError(step)

    async def mark_applied(self, journal_id: str, event_ids: list[str]) -> set[str]:
        self._crash_at("mark")
        return await super().mark_applied(journal_id, event_ids)

    async def increment(self, increments: dict[str, Increment], journal: Journal) -> None:
        if self.step == "increment":
            self.step = ""
            part = dict(list(increments.items())[: self.after_docs])
            await super().increment(part, journal)
            raise CrashError("increment")
        await super().increment(increments, journal)

    async def close_journal(self, journal_id: str) -> None:
        self._crash_at("close")
        await super().close_journal(journal_id)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def facts() -> dict[str, Any]:
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
    }


def batch() -> list[Event]:
    assigned = CaseAssigned(
        event_id=uuid4(),
        **facts(),
        routing_seq=1,
        tracking_number="HY-1",
        priority=Priority.NORMAL,
        acceptance_due_at=START,
    )
    resolved = CaseResolved(event_id=uuid4(), **facts(), agreement=AgreementForm.ORAL, on_time=True)
    return [assigned, resolved]


def counters(store: InMemoryMetricsStore) -> dict[str, Counter[str]]:
    return {doc_id: +Counter(doc["c"]) for doc_id, doc in store.counters.items()}


async def counted_once(events: list[Event]) -> dict[str, Counter[str]]:
    store = InMemoryMetricsStore()
    await MetricsRecorder(store, Clock(), LEASE).on_lifecycle(events)
    return counters(store)


@pytest.mark.parametrize(
    ("step", "after_docs"),
    [("mark", 0), ("increment", 0), ("increment", 3), ("close", 0)],
)
async def test_a_crash_at_any_step_still_counts_each_event_once(step: str, after_docs: int) -> None:
    events = batch()
    store, clock = CrashingStore(step, after_docs), Clock()
    with pytest.raises(CrashError):
        await MetricsRecorder(store, clock, LEASE).on_lifecycle(events)
    # A restarted process gets the uncommitted batch again, then finds the abandoned journal.
    restarted = MetricsRecorder(store, clock, LEASE)
    await restarted.on_lifecycle(events)
    clock.now += LEASE * 2
    await restarted.finish_abandoned()
    assert counters(store) == await counted_once(events)
    assert store.journals == {}


async def test_a_redelivered_batch_counts_nothing_more() -> None:
    events = batch()
    store, clock = InMemoryMetricsStore(), Clock()
    recorder = MetricsRecorder(store, clock, LEASE)
    await recorder.on_lifecycle(events)
    await recorder.on_lifecycle([*events, *events])
    assert counters(store) == await counted_once(events)


async def test_a_journal_is_finished_once_by_two_finders() -> None:
    events = batch()
    store, clock = CrashingStore("increment", 0), Clock()
    with pytest.raises(CrashError):
        await MetricsRecorder(store, clock, LEASE).on_lifecycle(events)
    clock.now += LEASE * 2
    finders = [MetricsRecorder(store, clock, LEASE) for _ in range(2)]
    assert [await finder.finish_abandoned() for finder in finders] == [1, 0]
    assert counters(store) == await counted_once(events)


async def test_an_open_journal_is_left_to_its_writer_until_its_lease_ends() -> None:
    store, clock = CrashingStore("close"), Clock()
    with pytest.raises(CrashError):
        await MetricsRecorder(store, clock, LEASE).on_lifecycle(batch())
    assert await MetricsRecorder(store, clock, LEASE).finish_abandoned() == 0
    assert len(store.journals) == 1


async def test_an_abandoned_journal_is_finished_without_the_batch_coming_again() -> None:
    events = batch()
    store, clock = CrashingStore("mark"), Clock()
    with pytest.raises(CrashError):
        await MetricsRecorder(store, clock, LEASE).on_lifecycle(events)
    clock.now += LEASE * 2
    assert await MetricsRecorder(store, clock, LEASE).finish_abandoned() == 1
    assert counters(store) == await counted_once(events)


@pytest.mark.parametrize("after_docs", [0, 3])
async def test_a_writer_that_lives_on_finishes_its_failed_batch_before_counting_another(
    after_docs: int,
) -> None:
    """The database went away in the middle of a batch, and the process did not: the batch is
    rewound while the next ones wait. Counting a later batch into the same documents first
    would overwrite the guards that say where the failed one already counted."""
    first, second = batch(), batch()
    store, clock = CrashingStore("increment", after_docs), Clock()
    recorder = MetricsRecorder(store, clock, LEASE)
    with pytest.raises(CrashError):
        await recorder.on_lifecycle(first)
    await recorder.on_lifecycle(second)
    await recorder.on_lifecycle(first)  # redelivered
    clock.now += LEASE * 2
    await MetricsRecorder(store, clock, LEASE).finish_abandoned()
    await recorder.finish_abandoned()
    assert counters(store) == await counted_once([*first, *second])
    assert store.journals == {}
