"""Follows topics from their beginning into an in-memory state: no consumer group, no commits,
every instance reads everything. Start-up can wait until what was there at start was read."""

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.broker import ensure_topics

Apply = Callable[[bytes], None]


class TopicFollower:
    """Applies each record once, in order within its partition: after a failure it resumes
    where it stopped, since the state it feeds may not be idempotent (a conditional change
    decides differently when applied twice)."""

    def __init__(
        self,
        bootstrap: str,
        appliers: Mapping[str, Apply],
        logger: structlog.stdlib.BoundLogger,
        *,
        batch: int = 500,
    ) -> None:
        self._bootstrap = bootstrap
        self._appliers = dict(appliers)
        self.topics = tuple(appliers)
        self._batch = batch
        self._log = logger.bind(component="follower", topics=self.topics)
        self._next: dict[TopicPartition, int] = {}
        self.caught_up = asyncio.Event()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            partitions = await self._partitions(consumer)
            consumer.assign(partitions)
            for partition in partitions:
                consumer.seek(partition, self._next.get(partition, 0))
            ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=self._batch)
                for partition, records in batches.items():
                    apply = self._appliers[partition.topic]
                    for record in records:
                        self._apply_one(apply, record.value, partition, record.offset)
                        self._next[partition] = record.offset + 1
                if not self.caught_up.is_set() and self._reached(ends):
                    self.caught_up.set()
                    self._log.info("caught up", records=sum(self._next.values()))
        finally:
            await consumer.stop()

    def _apply_one(self, apply: Apply, value: bytes, at: TopicPartition, offset: int) -> None:
        """A record that cannot be applied is skipped, the same way on every instance, rather
        than read again for ever."""
        try:
            apply(value)
        except Exception as error:
            self._log.exception("record skipped", topic=at.topic, offset=offset, error=repr(error))

    def _reached(self, ends: dict[TopicPartition, int]) -> bool:
        return all(self._next.get(partition, 0) >= end for partition, end in ends.items())

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        cluster = await consumer._client.fetch_all_metadata()
        partitions = []
        for topic in self.topics:
            found = cluster.partitions_for_topic(topic) or ()
            if not found:
                raise LookupError(f"topic {topic} does not exist")
            partitions += [TopicPartition(topic, partition) for partition in sorted(found)]
        return partitions

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._log.warning("follower failed, resuming", error=repr(error))
                await asyncio.sleep(1.0)


def following(
    follower: TopicFollower,
    bootstrap: str,
    wait_s: float,
    *,
    required: bool = True,
    logger: structlog.stdlib.BoundLogger | None = None,
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """A lifespan step: read the topics up to their end before going on, then keep following.
    When the state is `required`, refuse to start without it (serving from a state known to be
    incomplete would be wrong); otherwise warn and go on after `wait_s`."""

    @asynccontextmanager
    async def step() -> AsyncIterator[None]:
        await ensure_topics(bootstrap)
        task = asyncio.create_task(follower.run_forever(), name="topic-follower")
        try:
            try:
                await asyncio.wait_for(follower.caught_up.wait(), timeout=wait_s)
            except TimeoutError as error:
                if required:
                    raise RuntimeError(
                        f"{follower.topics} not read back within {wait_s} s; refusing to start"
                    ) from error
                if logger is not None:
                    logger.warning("not read back in time; starting anyway", wait_s=wait_s)
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    return step
