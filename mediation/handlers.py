"""Kafka edge of mediation: routed cases become stored cases in a unit's queue."""

from contracts.events import CaseRouted
from mediation.models import assigned_event, case_document
from mediation.store import CaseStore
from services.publishing import EventPublisher


class RoutedCases:
    def __init__(self, store: CaseStore, publisher: EventPublisher) -> None:
        self._store = store
        self._publisher = publisher

    async def on_routed(self, batch: list[CaseRouted]) -> None:
        await self._store.add_new([case_document(routed) for routed in batch])
        # Announce every case of the batch, new or already stored: if an earlier delivery
        # stored the case and crashed before announcing it, this is where it gets announced.
        # The deterministic event id lets consumers drop the repeats.
        await self._publisher.publish_all([assigned_event(routed) for routed in batch])
