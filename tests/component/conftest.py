from collections.abc import Callable

import pytest
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage


class Captured:
    """Messages a test subscriber saw on one topic."""

    def __init__(self) -> None:
        self.messages: list[KafkaMessage] = []

    @property
    def bodies(self) -> list[bytes]:
        return [message.body for message in self.messages]


@pytest.fixture
def capture() -> Callable[[KafkaBroker, str], Captured]:
    def attach(broker: KafkaBroker, topic: str) -> Captured:
        captured = Captured()

        @broker.subscriber(topic, group_id=f"test-capture-{topic}")
        async def record(message: KafkaMessage) -> None:
            captured.messages.append(message)

        return captured

    return attach
