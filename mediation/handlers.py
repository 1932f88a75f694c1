"""Kafka edges of mediation: routed cases into the store, lifecycle events into the metrics."""

from contracts.events import CaseRouted, Event
from mediation.lifecycle import assigned_event, urgent_alert
from mediation.metrics import UNKNOWN, Facts, contribution_of
from mediation.metrics_store import MetricsStore
from mediation.models import routed_document
from mediation.service import CaseService, Relay
from mediation.store import CaseStore


class RoutedCases:
    def __init__(self, store: CaseStore, relay: Relay, cases: CaseService) -> None:
        self._store = store
        self._relay = relay
        self._cases = cases

    async def on_routed(self, batch: list[CaseRouted]) -> None:
        """Re-reports of one resolved case are taken one after another: the first reopens the
        chain, and the next joins the case the first opened rather than open another."""
        now, later = one_report_per_rebound(batch)
        await self._store_routed(now)
        if later:
            await self.on_routed(later)

    async def _store_routed(self, batch: list[CaseRouted]) -> None:
        # Each case's routings in this batch, once per routing_seq, oldest first. A case new
        # to the store is inserted as its latest routing makes it (the hot path, also when a
        # replay brings a routing and its re-route together); for a stored case, anything
        # past the first routing is a re-route, applied or found stale one by one.
        chains: dict[str, dict[int, CaseRouted]] = {}
        for routed in batch:
            chains.setdefault(routed.case_id, {}).setdefault(routed.routing_seq, routed)
        ordered = {case_id: [c[s] for s in sorted(c)] for case_id, c in chains.items()}
        joined = await self._join_open_chains(ordered)
        ordered = {case_id: chain for case_id, chain in ordered.items() if case_id not in joined}
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
            if routed.case_id in joined:
                continue
            if routed.rebound_of and routed.rebound_of != routed.case_id:
                await self._cases.reopen(routed.rebound_of, routed.case_id, routed.occurred_at)

    async def _join_open_chains(self, ordered: dict[str, list[CaseRouted]]) -> set[str]:
        """New reports of a dispute whose rebound chain is still open join the chain's open
        case instead of opening a parallel one; the ids of those that joined. A report whose
        chain is closed (the resolved case not yet reopened, or everything closed again) is a
        case of its own and reopens the resolved one."""
        joined = set()
        for case_id, chain in ordered.items():
            first = chain[0]
            resolved_id = first.rebound_of
            if first.routing_seq != 1 or not resolved_id or resolved_id == case_id:
                continue
            if await self._store.get(case_id) is not None:
                continue  # stored as a case of its own by an earlier delivery
            open_case = await self._store.chain_case(resolved_id, case_id)
            if open_case is None:
                continue
            if case_id in open_case.get("joined_reports", ()):
                joined.add(case_id)  # a redelivery: joined already
            elif await self._cases.join(open_case["_id"], first):
                joined.add(case_id)
        return joined


def one_report_per_rebound(batch: list[CaseRouted]) -> tuple[list[CaseRouted], list[CaseRouted]]:
    """The batch split in two: what can be taken now, and the routings of every further case
    that re-reports a resolved case some earlier case of the batch re-reports too."""
    first_case: dict[str, str] = {}
    for routed in batch:
        if routed.rebound_of and routed.rebound_of != routed.case_id:
            first_case.setdefault(routed.rebound_of, routed.case_id)
    waiting = {
        r.case_id
        for r in batch
        if r.rebound_of and first_case.get(r.rebound_of, r.case_id) != r.case_id
    }
    return [r for r in batch if r.case_id not in waiting], [
        r for r in batch if r.case_id in waiting
    ]


class MetricsRecorder:
    """Counts each lifecycle event exactly once, through crashes and redeliveries: the store
    counts a batch in one transaction that marks its events, so a batch is counted whole or
    not at all, and a redelivered event finds its mark. The events carry every fact the
    counters need (origin tier, start, channel, category), so counting reads no case."""

    def __init__(self, store: MetricsStore) -> None:
        self._store = store

    async def on_lifecycle(self, batch: list[Event]) -> None:
        # An event without the case facts comes from a producer that does not know the case
        # (an older mediation); the one that does announces the same event id with them.
        contributions = {
            str(event.event_id): contribution
            for event in batch
            if getattr(event, "started_at", None) is not None
            and (contribution := contribution_of(event, facts_of(event)))
        }
        await self._store.count(contributions)


def facts_of(event: Event) -> Facts:
    tier = getattr(event, "origin_tier", None) or getattr(event, "tier", None)
    channel, category = getattr(event, "channel", None), getattr(event, "category", None)
    return Facts(
        origin_tier=str(tier) if tier else UNKNOWN,
        started_at=getattr(event, "started_at", None),
        channel=str(channel) if channel else UNKNOWN,
        category=str(category) if category else UNKNOWN,
    )
