"""Kafka edge of the router: a batch in, decisions out, committed after Kafka acknowledged."""

from collections.abc import Callable
from datetime import datetime

from contracts.events import DisputeReported
from router.rules import Policy, route
from services.publishing import EventPublisher


class DisputeRouter:
    def __init__(
        self,
        publisher: EventPublisher,
        policy: Policy,
        clock: Callable[[], datetime],
    ) -> None:
        self._publisher = publisher
        self._policy = policy
        self._clock = clock

    async def on_reported(self, batch: list[DisputeReported]) -> None:
        decided_at = self._clock()
        await self._publisher.publish_all(
            [route(reported, self._policy, decided_at) for reported in batch]
        )
