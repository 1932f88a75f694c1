"""Kafka edge of intake: follow each report downstream, for GET /v1/disputes and Open311."""

from contracts.events import CaseEvent, CaseRouted, LifecycleEvent
from intake.status import lifecycle_entry, routed_entry
from intake.store import IntakeStore


class StatusFollower:
    def __init__(self, store: IntakeStore) -> None:
        self._store = store

    async def on_routed(self, batch: list[CaseRouted]) -> None:
        # The routed event carries the dispute: a report whose 202 was lost (Kafka had it,
        # the client got 503) becomes readable here. A dispute already stored stays as it was.
        await self._store.add_disputes(
            [
                {
                    "_id": event.case_id,
                    "tracking_number": event.dispute.tracking_number,
                    "received_at": event.occurred_at,
                    "dispute": event.dispute.model_dump(mode="json"),
                    "private": {},
                }
                for event in batch
                if event.routing_seq == 1
            ]
        )
        await self._store.add_status([routed_entry(event) for event in batch])

    async def on_lifecycle(self, batch: list[LifecycleEvent]) -> None:
        entries = [lifecycle_entry(event) for event in batch if isinstance(event, CaseEvent)]
        await self._store.add_status([entry for entry in entries if entry is not None])
