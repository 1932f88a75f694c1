"""Kafka edge of intake: follow each report downstream, for GET /v1/disputes and Open311."""

from contracts.events import CaseEvent, CaseRouted, LifecycleEvent
from intake.duplicates import KnownClaims
from intake.status import lifecycle_entry, routed_entry
from intake.store import IntakeStore


class StatusFollower:
    def __init__(self, store: IntakeStore, known: KnownClaims | None = None) -> None:
        self._store = store
        self._known = known or KnownClaims()

    async def on_routed(self, batch: list[CaseRouted]) -> None:
        # The routed event carries the dispute: a report whose 202 was lost (Kafka had it,
        # the client got 503) becomes readable here. A known dispute is left as it was, and
        # one this process stored is not even offered (a refused insert costs FerretDB as
        # much as an insert).
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
                if event.routing_seq == 1 and not self._known.is_stored(event.case_id)
            ]
        )
        await self._store.add_status([routed_entry(event) for event in batch])

    async def on_lifecycle(self, batch: list[LifecycleEvent]) -> None:
        entries = [lifecycle_entry(event) for event in batch if isinstance(event, CaseEvent)]
        await self._store.add_status([entry for entry in entries if entry is not None])
