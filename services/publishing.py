"""Publishing contract events: JSON, keyed by correlation id (the dispute id, which is also the
case id) so one case's events stay in order on one partition."""

import asyncio
from collections.abc import Sequence

from faststream.kafka.publisher.usecase import DefaultPublisher

from contracts.events import Event


class EventPublisher:
    def __init__(self, publisher: DefaultPublisher) -> None:
        self._publisher = publisher

    async def publish(self, event: Event) -> None:
        """Returns once every in-sync replica has the event (acks=all)."""
        await self._publisher.publish(
            event.model_dump_json().encode(),
            key=event.correlation_id.encode(),
            correlation_id=event.correlation_id,
        )

    async def publish_all(self, events: Sequence[Event]) -> None:
        """Send the batch concurrently so the producer packs it into few requests, and return
        once every event is acknowledged: durable before the caller commits its offsets."""
        await asyncio.gather(*(self.publish(event) for event in events))
