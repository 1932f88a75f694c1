"""Batch consumption with dead-lettering, written once for every service.

A batch is committed only after its handler returned, so effects are durable first. Records
that fail validation go to the dead-letter topic at once; a batch whose handler fails for a
non-transient reason is retried record by record so one poison event cannot block the
partition, and a record that still fails after `handler_max_attempts` is dead-lettered.
Transient infrastructure errors never dead-letter: the batch is rewound and read again.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

import structlog
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import TypeAdapter, ValidationError
from pymongo.errors import ConnectionFailure

from contracts import topics
from services.settings import ServiceSettings

T = TypeVar("T")
BatchHandler = Callable[[list[T]], Awaitable[None]]

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    KafkaError,
    OSError,
    TimeoutError,
)


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, KafkaError):
        return bool(getattr(error, "retriable", True))
    return isinstance(error, TRANSIENT_ERRORS)


class BatchConsumer(Generic[T]):
    """Decodes, handles and dead-letters the records of one subscriber."""

    def __init__(
        self,
        broker: KafkaBroker,
        *,
        group_id: str,
        schema: TypeAdapter[T],
        handle: BatchHandler[T],
        settings: ServiceSettings,
        logger: structlog.stdlib.BoundLogger,
    ) -> None:
        self._broker = broker
        self._group_id = group_id
        self._schema = schema
        self._handle = handle
        self._max_attempts = settings.handler_max_attempts
        self._backoff_s = settings.handler_retry_backoff_s
        self._log = logger.bind(consumer_group=group_id)

    async def process(self, records: list[ConsumerRecord[Any, Any]]) -> None:
        decoded: list[tuple[ConsumerRecord[Any, Any], T]] = []
        for record in records:
            try:
                decoded.append((record, self._schema.validate_json(record.value)))
            except ValidationError as error:
                await self.dead_letter(record, f"invalid event: {_summarise(error)}", attempts=1)
        if not decoded:
            return
        try:
            await self._handle([item for _, item in decoded])
        except Exception as error:
            if _is_transient(error):
                await self._rewind(error)
            self._log.warning("batch failed, isolating records", error=repr(error))
            for record, item in decoded:
                await self._process_one(record, item)

    async def _process_one(self, record: ConsumerRecord[Any, Any], item: T) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                await self._handle([item])
            except Exception as error:
                if _is_transient(error):
                    await self._rewind(error)
                if attempt == self._max_attempts:
                    await self.dead_letter(record, f"handler failed: {error!r}", attempts=attempt)
                    return
                await asyncio.sleep(self._backoff_s * attempt)
            else:
                return

    async def _rewind(self, error: BaseException) -> None:
        """Read the batch again later; handlers are idempotent, so repeats are harmless."""
        self._log.warning("transient failure, batch will be redelivered", error=repr(error))
        await asyncio.sleep(self._backoff_s)
        raise NackMessage from error

    async def dead_letter(
        self, record: ConsumerRecord[Any, Any], reason: str, *, attempts: int
    ) -> None:
        headers = {
            "x-dlq-error": reason[:2000],
            "x-dlq-original-topic": record.topic,
            "x-dlq-original-partition": str(record.partition),
            "x-dlq-original-offset": str(record.offset),
            "x-dlq-attempts": str(attempts),
            "x-dlq-consumer-group": self._group_id,
            "x-dlq-failed-at": datetime.now(UTC).isoformat(),
        }
        await self._broker.publish(
            record.value, topics.DEAD_LETTER, key=record.key, headers=headers
        )
        self._log.error(
            "event dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            attempts=attempts,
            reason=reason[:500],
        )


def _summarise(error: ValidationError) -> str:
    """Name each failing field, as the dead-letter reader needs to fix the producer."""
    return "; ".join(
        f"{'.'.join(str(p) for p in item['loc']) or '<root>'}: {item['msg']}"
        for item in error.errors(include_url=False)
    )


def _not_decoded(_: StreamMessage[Any]) -> None:
    """The records are validated by `BatchConsumer` from their raw bytes; faststream's own JSON
    decoding of every record would be thrown away (a tenth of what a routed event costs)."""


def subscribe_batch(
    broker: KafkaBroker,
    topic: str,
    *,
    group_id: str,
    schema: TypeAdapter[T],
    handle: BatchHandler[T],
    settings: ServiceSettings,
    logger: structlog.stdlib.BoundLogger,
    description: str,
    auto_offset_reset: Literal["earliest", "latest"] = "earliest",
) -> BatchConsumer[T]:
    """Register a batch subscriber that commits after `handle` returns. A new consumer group
    starts at `auto_offset_reset`: the whole topic unless told otherwise."""
    consumer = BatchConsumer(
        broker,
        group_id=group_id,
        schema=schema,
        handle=handle,
        settings=settings,
        logger=logger,
    )

    @broker.subscriber(
        topic,
        group_id=group_id,
        batch=True,
        max_records=settings.consumer_max_records,
        auto_offset_reset=auto_offset_reset,
        ack_policy=AckPolicy.ACK,
        decoder=_not_decoded,
        description=description,
    )
    async def consume(message: KafkaMessage) -> None:
        raw = message.raw_message
        await consumer.process(list(raw) if isinstance(raw, tuple | list) else [raw])

    return consumer
