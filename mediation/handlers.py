"""Kafka edges of mediation: routed cases into the store, lifecycle events into the metrics."""

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from contracts.events import CaseRouted, Event
from mediation.lifecycle import assigned_event, urgent_alert
from mediation.metrics import UNKNOWN, Facts, contribution_of, increments_of
from mediation.metrics_store import Journal, MetricsStore
from mediation.models import routed_document
from mediation.service import CaseService, Relay
from mediation.store import CaseStore

Clock = Callable[[], datetime]


class RoutedCases:
    def __init__(self, store: CaseStore, relay: Relay, cases: CaseService) -> None:
        self._store = store
        self._relay = relay
        self._cases = cases

    async def on_routed(self, batch: list[CaseRouted]) -> None:
        # Each case's routings in this batch, once per routing_seq, oldest first. A case new
        # to the store is inserted as its latest routing makes it (the hot path, also when a
        # replay brings a routing and its re-route together); for a stored case, anything
        # past the first routing is a re-route, applied or found stale one by one.
        chains: dict[str, dict[int, CaseRouted]] = {}
        for routed in batch:
            chains.setdefault(routed.case_id, {}).setdefault(routed.routing_seq, routed)
        ordered = {case_id: [c[s] for s in sorted(c)] for case_id, c in chains.items()}
        new_ids = await self._store.add_new([routed_document(c) for c in ordered.values()])
        announce: list[CaseRouted] = []
        later: list[CaseRouted] = []
        for case_id, chain in ordered.items():
            if case_id in new_ids:
                announce += chain
                continue
            # A repeated first routing is announced again: if an earlier delivery stored the
            # case and crashed before announcing it, this is where it gets announced.
            # Deterministic event ids let consumers drop the repeats.
            announce += [r for r in chain if r.routing_seq == 1]
            later += [r for r in chain if r.routing_seq > 1]
        events: list[Event] = [assigned_event(r) for r in announce]
        events += [urgent_alert(r) for r in announce if r.urgent]
        await self._relay.publish(events)
        for routed in sorted(later, key=lambda r: r.routing_seq):
            await self._cases.reroute(routed)  # a conditional update with its outbox
        for routed in batch:
            if routed.rebound_of and routed.rebound_of != routed.case_id:
                await self._cases.reopen(routed.rebound_of, routed.case_id, routed.occurred_at)


class MetricsRecorder:
    """Counts each lifecycle event exactly once, through crashes and redeliveries.

    A batch first writes its journal, then marks its events (a mark already there means
    counted, or being counted, elsewhere), then adds the marked events to the counters and
    closes the journal. A journal left open by a crash is finished, after its lease, by
    whoever finds it: it counts the events whose marks name it, skipping the counter
    documents it already reached. The events carry every fact the counters need (origin
    tier, start, channel, category), so counting reads no case.

    A document's guard holds only its owner's last journal, so an owner finishes a journal
    before it counts any later one: after a failure its process lived through (the database
    went away), the next batch first finishes the failed one. Finding abandoned journals is
    for the journals of owners that are gone."""

    def __init__(self, store: MetricsStore, clock: Clock, lease: timedelta) -> None:
        self._store = store
        self._clock = clock
        self._lease = lease
        self._owner = uuid.uuid4().hex[:12]
        self._next_recovery = 0.0
        self._unfinished: Journal | None = None

    async def on_lifecycle(self, batch: list[Event]) -> None:
        if time.monotonic() >= self._next_recovery:
            await self.finish_abandoned()
        # An event without the case facts comes from a producer that does not know the case
        # (an older mediation); the one that does announces the same event id with them.
        contributions = {
            str(event.event_id): contribution
            for event in batch
            if getattr(event, "started_at", None) is not None
            and (contribution := contribution_of(event, facts_of(event)))
        }
        if self._unfinished is not None:
            await self._finish(self._unfinished)
        if not contributions:
            return
        journal = Journal(uuid.uuid4().hex, self._owner, self._clock(), contributions)
        self._unfinished = journal
        await self._store.open_journal(journal)
        fresh = await self._store.mark_applied(journal.id, list(contributions))
        await self._count(journal, fresh)

    async def finish_abandoned(self) -> int:
        """Finish the journals whose writers stopped before closing them."""
        now = self._clock()
        self._next_recovery = time.monotonic() + self._lease.total_seconds() / 4
        window = int(now.timestamp() // self._lease.total_seconds())
        finished = 0
        for journal in await self._store.stale_journals(now - self._lease):
            if journal.owner == self._owner:  # this process's own: its next batch finishes it
                continue
            if not await self._store.claim_journal(journal.id, window):
                continue
            await self._finish(journal)
            finished += 1
        return finished

    async def _finish(self, journal: Journal) -> None:
        """Count what an interrupted journal had not counted yet, and close it."""
        await self._store.open_journal(journal)  # in case the failure came before it was
        events = list(journal.contributions)
        await self._store.mark_applied(journal.id, events)  # what it never got to mark
        await self._count(journal, await self._store.marked_by(journal.id, events))

    async def _count(self, journal: Journal, counted: set[str]) -> None:
        items = journal.contributions.items()
        increments = increments_of(c for event_id, c in items if event_id in counted)
        if increments:
            await self._store.increment(increments, journal)
        await self._store.close_journal(journal.id)
        if self._unfinished is journal:
            self._unfinished = None


def facts_of(event: Event) -> Facts:
    tier = getattr(event, "origin_tier", None) or getattr(event, "tier", None)
    channel, category = getattr(event, "channel", None), getattr(event, "category", None)
    return Facts(
        origin_tier=str(tier) if tier else UNKNOWN,
        started_at=getattr(event, "started_at", None),
        channel=str(channel) if channel else UNKNOWN,
        category=str(category) if category else UNKNOWN,
    )
