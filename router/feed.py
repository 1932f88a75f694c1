"""Feeds the read models from the topics: read from the beginning at start (the rebuild), then
follow. No consumer group and no commits: every router instance reads the whole history, which
is what an in-memory read model needs."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import TypeAdapter, ValidationError

from contracts import topics
from contracts.events import CaseRouted, LifecycleEvent
from router.readmodel import ReadModels
from services.broker import ensure_topics

FED_BY = (topics.CASES_LIFECYCLE, topics.CASES_ROUTED)
_LIFECYCLE: TypeAdapter[Any] = TypeAdapter(LifecycleEvent)


class ReadModelFeed:
    def __init__(
        self, bootstrap: str, models: ReadModels, logger: structlog.stdlib.BoundLogger
    ) -> None:
        self._bootstrap = bootstrap
        self._models = models
        self._log = logger.bind(component="read-model-feed")
        self.caught_up = asyncio.Event()
        self.skipped = 0

    def apply(self, topic: str, value: bytes) -> None:
        try:
            if topic == topics.CASES_ROUTED:
                self._models.apply_routed(CaseRouted.model_validate_json(value))
            else:
                self._models.apply_lifecycle(_LIFECYCLE.validate_json(value))
        except ValidationError:
            self.skipped += 1  # not ours to dead-letter: the workers of that topic do

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            partitions = await self._partitions(consumer)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
            read = 0
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=2000)
                for partition, records in batches.items():
                    for record in records:
                        self.apply(partition.topic, record.value)
                    read += len(records)
                if not self.caught_up.is_set() and await _at_least(consumer, ends):
                    self._models.caught_up = True
                    self.caught_up.set()
                    self._log.info("read models rebuilt", records=read, skipped=self.skipped)
        finally:
            await consumer.stop()

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        cluster = await consumer._client.fetch_all_metadata()
        return [
            TopicPartition(topic, partition)
            for topic in FED_BY
            for partition in sorted(cluster.partitions_for_topic(topic) or ())
        ]

    async def run_forever(self) -> None:
        """Keep following through broker outages; the models are idempotent, so re-reading
        from the beginning after a failure double-counts nothing."""
        while True:
            try:
                await self.run()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._log.warning("read model feed failed, restarting", error=repr(error))
                await asyncio.sleep(1.0)


async def _at_least(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for partition, end in ends.items():
        if await consumer.position(partition) < end:
            return False
    return True


def feeding(
    feed: ReadModelFeed, bootstrap: str, wait_s: float, logger: structlog.stdlib.BoundLogger
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """A lifespan step: rebuild before routing starts (bounded wait), then follow."""

    @asynccontextmanager
    async def step() -> AsyncIterator[None]:
        await ensure_topics(bootstrap)
        task = asyncio.create_task(feed.run_forever(), name="read-model-feed")
        try:
            await asyncio.wait_for(feed.caught_up.wait(), timeout=wait_s)
        except TimeoutError:
            logger.warning("read models not rebuilt in time; routing starts anyway", wait_s=wait_s)
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    return step
