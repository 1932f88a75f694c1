"""Kafka edges of mediation: routed cases into the store, lifecycle events into the metrics."""

from contracts.events import CaseRouted, Event
from mediation.lifecycle import assigned_event, urgent_alert
from mediation.metrics import UNKNOWN, Facts, batch_increments
from mediation.metrics_store import MetricsStore
from mediation.models import case_document
from mediation.service import CaseService, Relay
from mediation.store import CaseStore


class RoutedCases:
    def __init__(self, store: CaseStore, relay: Relay, cases: CaseService) -> None:
        self._store = store
        self._relay = relay
        self._cases = cases

    async def on_routed(self, batch: list[CaseRouted]) -> None:
        # The first routing of each case in the batch is tried as an insert (the hot path);
        # anything else for a case already stored is a re-route, or a repeat to ignore.
        firsts: dict[str, CaseRouted] = {}
        later: list[CaseRouted] = []
        for routed in batch:
            if routed.case_id in firsts:
                later.append(routed)
            else:
                firsts[routed.case_id] = routed
        new_ids = await self._store.add_new([case_document(r) for r in firsts.values()])
        announce: list[CaseRouted] = []
        for case_id, routed in firsts.items():
            if case_id in new_ids or routed.routing_seq == 1:
                # A repeated first routing is announced again: if an earlier delivery stored
                # the case and crashed before announcing it, this is where it gets announced.
                # Deterministic event ids let consumers drop the repeats.
                announce.append(routed)
            else:
                later.insert(0, routed)
        events: list[Event] = [assigned_event(r) for r in announce]
        events += [urgent_alert(r) for r in announce if r.urgent]
        await self._relay.publish(events)
        # Conditional updates with their outbox; stale or repeated routings change nothing.
        for routed in sorted(
            {(r.case_id, r.routing_seq): r for r in later}.values(), key=lambda r: r.routing_seq
        ):
            await self._cases.reroute(routed)
        for routed in batch:
            if routed.rebound_of and routed.rebound_of != routed.case_id:
                await self._cases.reopen(routed.rebound_of, routed.case_id, routed.occurred_at)


class MetricsRecorder:
    """Counts each lifecycle event once: its id is inserted first, and only events whose id
    was new this time are summed into the counters. The events carry every fact the counters
    need (origin tier, start, channel, category), so counting reads nothing."""

    def __init__(self, store: MetricsStore) -> None:
        self._store = store

    async def on_lifecycle(self, batch: list[Event]) -> None:
        unique = {str(event.event_id): event for event in batch}
        fresh = await self._store.mark_applied(list(unique))
        counted = [
            (event, facts_of(event)) for event_id, event in unique.items() if event_id in fresh
        ]
        if counted:
            await self._store.increment(batch_increments(counted))


def facts_of(event: Event) -> Facts:
    tier = getattr(event, "origin_tier", None) or getattr(event, "tier", None)
    channel, category = getattr(event, "channel", None), getattr(event, "category", None)
    return Facts(
        origin_tier=str(tier) if tier else UNKNOWN,
        started_at=getattr(event, "started_at", None),
        channel=str(channel) if channel else UNKNOWN,
        category=str(category) if category else UNKNOWN,
    )
