"""Reading and writing topics directly, to check what really is on the broker."""

import time
from collections.abc import Callable
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from contracts import topics

Record: TypeAlias = ConsumerRecord[bytes, bytes]


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    """Where each partition of `topic` ends now: read from here to see only what comes next."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        partitions = [TopicPartition(topic, p) for p in cluster.partitions_for_topic(topic) or ()]
        assert partitions, f"topic {topic} does not exist"
        offsets: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return offsets
    finally:
        await consumer.stop()


async def read_until(
    bootstrap: str,
    start: dict[TopicPartition, int],
    done: Callable[[list[Record]], bool],
    *,
    timeout_s: float = 20,
) -> list[Record]:
    """Every record after `start` until `done(records)` holds; fails on timeout."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Record] = []
    try:
        consumer.assign(list(start))
        for partition, offset in start.items():
            consumer.seek(partition, offset)
        deadline = time.monotonic() + timeout_s
        while not done(records):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; read {len(records)} records")
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def produce(bootstrap: str, topic: str, value: bytes, key: bytes, **kwargs: Any) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, **kwargs)
    finally:
        await producer.stop()


async def read_between(
    bootstrap: str,
    start: dict[TopicPartition, int],
    end: dict[TopicPartition, int],
    *,
    timeout_s: float = 30,
) -> list[Record]:
    """Every record from `start` up to (not including) `end`: all that was written between
    two moments, with nothing left to wait for."""
    pending = {tp for tp in end if end[tp] > start.get(tp, 0)}
    if not pending:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Record] = []
    try:
        consumer.assign(list(pending))
        for partition in pending:
            consumer.seek(partition, start.get(partition, 0))
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; read {len(records)} records")
            batches = await consumer.getmany(*pending, timeout_ms=200)
            for partition, batch in batches.items():
                records.extend(r for r in batch if r.offset < end[partition])
            pending = {tp for tp in pending if await consumer.position(tp) < end[tp]}
        return records
    finally:
        await consumer.stop()


async def start_group_at_the_end(bootstrap: str, group_id: str) -> None:
    """A new group would read the topic's whole history; this test is about what comes next."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id)
    await consumer.start()
    try:
        partitions = [TopicPartition(topics.ALERTS, p) for p in range(topics.PARTITIONS)]
        consumer.assign(partitions)
        await consumer.commit(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()
