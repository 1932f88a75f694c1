"""Kafka wiring: every producer waits for all in-sync replicas and is idempotent."""

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker

from contracts import topics
from services.settings import ServiceSettings


def create_broker(settings: ServiceSettings, logger: structlog.stdlib.BoundLogger) -> KafkaBroker:
    """aiokafka defaults to acks=1 without idempotence, which can lose or duplicate on failover."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        client_id=settings.service_name,
        logger=logger,
        graceful_timeout=10.0,
    )


KEPT_FOR_EVER = {"retention.ms": "-1", "retention.bytes": "-1"}


async def ensure_topics(
    bootstrap_servers: str,
    names: Iterable[str] = topics.ALL,
    partitions: int = topics.PARTITIONS,
) -> None:
    """Create the topics explicitly so partition counts do not depend on broker defaults.
    The config topic comes too: one partition, kept for ever (see `topics.CONFIG`)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name=name, num_partitions=partitions, replication_factor=1)
            for name in names
            if name not in existing
        ]
        if topics.CONFIG not in existing:
            missing.append(
                NewTopic(
                    name=topics.CONFIG,
                    num_partitions=1,
                    replication_factor=1,
                    topic_configs=KEPT_FOR_EVER,
                )
            )
        if missing:
            with suppress(TopicAlreadyExistsError):  # another service created it first
                await admin.create_topics(missing)
    finally:
        await admin.close()


def running_broker(
    broker: KafkaBroker, settings: ServiceSettings
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """A lifespan step: topics exist before any subscriber joins its group."""

    @asynccontextmanager
    async def step() -> AsyncIterator[None]:
        await ensure_topics(settings.kafka_bootstrap_servers)
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()

    return step
