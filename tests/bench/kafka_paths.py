"""Router throughput against its ceiling and against the naive way, on the real broker.

Each contender reads the same pre-filled topic of DisputeReported events from the beginning
with a fresh consumer group and writes its output to a topic of its own; the figure is events
per second from the first record read to the last output acknowledged.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from pydantic import TypeAdapter

from contracts.events import DisputeReported
from contracts.registry import hanyin
from router.bench_rules import synthetic
from router.handlers import DisputeRouter
from router.readmodel import ReadModels
from router.rules import decide
from router.watch import PolicyHolder
from services.broker import create_broker
from services.consumer import subscribe_batch
from services.jurisdiction import Jurisdiction
from services.publishing import EventPublisher
from services.settings import ServiceSettings

POLICY = Path(__file__).parents[2] / "router" / "policy.yaml"
PARTITIONS = 4


async def create_topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, num_partitions=PARTITIONS, replication_factor=1) for name in names]
        )
    finally:
        await admin.close()


async def prefill(bootstrap: str, topic: str, count: int) -> int:
    """Writes `count` varied reports; returns the mean size of one routed decision."""
    reports = synthetic(count)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        futures = [
            await producer.send(topic, r.model_dump_json().encode(), key=r.correlation_id.encode())
            for r in reports
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    holder = PolicyHolder(POLICY, structlog.get_logger("bench"))
    sample = [
        decide(
            r,
            holder.current,
            hanyin(),
            datetime.now(UTC),
            ReadModels().situation(r.dispute, r.occurred_at, holder.current),
        ).routed
        for r in reports[:200]
    ]
    return sum(len(d.model_dump_json()) for d in sample if d) // len(sample)


async def raw_ceiling(bootstrap: str, source: str, count: int, output_size: int) -> float:
    """A bare aiokafka loop: consume a batch, validate each event, produce an output of the
    routed size with acks=all + idempotence, commit. Nothing else."""
    sink = f"{source}.raw"
    await create_topics(bootstrap, sink)
    adapter = TypeAdapter(DisputeReported)
    payload = b"x" * output_size
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=500,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    done, started = 0, 0.0
    try:
        while done < count:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            records = [record for batch in batches.values() for record in batch]
            if records and not started:
                started = time.perf_counter()
            futures = []
            for record in records:
                event = adapter.validate_json(record.value)
                futures.append(
                    await producer.send(sink, payload, key=event.correlation_id.encode())
                )
            await asyncio.gather(*futures)
            if records:
                await consumer.commit()
            done += len(records)
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


class Progress:
    """Counts handled events; the clock starts at the first and stops at the last."""

    def __init__(self, target: int) -> None:
        self.target, self.handled = target, 0
        self.first, self.done = asyncio.Event(), asyncio.Event()

    def add(self, count: int) -> None:
        self.handled += count
        self.first.set()
        if self.handled >= self.target:
            self.done.set()


async def _run_until(broker: KafkaBroker, progress: Progress) -> float:
    await broker.start()
    try:
        await progress.first.wait()
        started = time.perf_counter()
        await progress.done.wait()
        return progress.target / (time.perf_counter() - started)
    finally:
        await broker.stop()


async def router_path(bootstrap: str, source: str, count: int) -> float:
    """The router's own handler, batch subscriber and publisher, as the service wires them."""
    sink = f"{source}.router"
    await create_topics(bootstrap, sink)
    logger = structlog.get_logger("bench")
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap, service_name="bench-router")
    broker = create_broker(settings, logger)
    router = DisputeRouter(
        routed=EventPublisher(broker.publisher(sink)),
        alerts=EventPublisher(broker.publisher(f"{sink}.alerts")),
        policies=PolicyHolder(POLICY, logger),
        jurisdiction=Jurisdiction(logger),
        models=ReadModels(),
        clock=lambda: datetime.now(UTC),
    )
    progress = Progress(count)

    async def counting(batch: list[DisputeReported]) -> None:
        await router.on_reported(batch)
        progress.add(len(batch))

    subscribe_batch(
        broker,
        source,
        group_id=f"bench-router-{uuid.uuid4().hex[:6]}",
        schema=TypeAdapter(DisputeReported),
        handle=counting,
        settings=settings,
        logger=logger,
        description="bench",
    )
    return await _run_until(broker, progress)


async def naive_path(bootstrap: str, source: str, count: int) -> float:
    """The same decision as a plain per-message faststream subscriber with default settings."""
    sink = f"{source}.naive"
    await create_topics(bootstrap, sink)
    logger = structlog.get_logger("bench")
    broker = KafkaBroker(bootstrap, logger=None)
    policies = PolicyHolder(POLICY, logger)
    registry, models = hanyin(), ReadModels()
    progress = Progress(count)

    @broker.subscriber(
        source, group_id=f"bench-naive-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest"
    )
    async def handle(reported: DisputeReported) -> None:
        policy = policies.current
        situation = models.situation(reported.dispute, reported.occurred_at, policy)
        decision = decide(reported, policy, registry, datetime.now(UTC), situation)
        if decision.routed is not None:
            models.apply_routed(decision.routed)
            await broker.publish(decision.routed, sink, key=reported.correlation_id.encode())
        progress.add(1)

    return await _run_until(broker, progress)


Contender = Callable[[], Awaitable[float]]


async def measure(bootstrap: str, count: int) -> dict[str, float]:
    source = f"bench.disputes.{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, source)
    output_size = await prefill(bootstrap, source, count)
    return {
        "raw_ceiling_eps": await raw_ceiling(bootstrap, source, count, output_size),
        "router_eps": await router_path(bootstrap, source, count),
        "naive_eps": await naive_path(bootstrap, source, min(count, 5000)),
    }
