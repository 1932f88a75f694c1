"""Mediation's case-creation path against a bare PyMongo async insert_many of documents of the
same size, on the same database server in the same run."""

import time
import uuid
from datetime import UTC, datetime
from typing import Any, cast

import structlog
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.events import CaseRouted, Event
from contracts.registry import hanyin
from mediation.handlers import RoutedCases
from mediation.models import routed_document
from mediation.service import CaseService, Relay
from mediation.store import MongoCaseStore
from router.bench_rules import synthetic
from router.policy import Policy
from router.rules import route
from services.jurisdiction import Jurisdiction
from services.publishing import EventPublisher

Document = dict[str, Any]


class Discard:
    """Stands in for the Kafka publishers: the Kafka side is measured in the router figures."""

    async def publish_all(self, events: list[Event]) -> None:
        return None


BATCH = 100
"""Cases per write, as the consumer hands them over (and the bare loop writes them)."""


def cases(count: int) -> list[CaseRouted]:
    """Routed cases of varied reports (the router's own synthetic mix)."""
    policy, registry, now = Policy(), hanyin(), datetime.now(UTC)
    return [route(report, policy, registry, now) for report in synthetic(count)]


async def server_name(client: AsyncMongoClient[Document]) -> str:
    info = await client.admin.command("buildInfo")
    if "secantusVersion" in info:
        return f"SecantusDB {info['secantusVersion']} (answers as MongoDB {info['version']})"
    return f"MongoDB {info.get('version')}"


async def case_path(
    client: AsyncMongoClient[Document], database: str, batch: list[CaseRouted]
) -> float:
    """Cases per second through RoutedCases.on_routed in batches of 100, as consumed."""
    store = MongoCaseStore(client[database])
    await store.ensure_indexes()
    discard = cast(EventPublisher, Discard())
    relay = Relay(store, {topics.CASES_LIFECYCLE: discard, topics.ALERTS: discard})
    service = CaseService(
        store,
        relay,
        Jurisdiction(structlog.get_logger("bench")),
        lambda: datetime.now(UTC),
        structlog.get_logger("bench"),
    )
    handler = RoutedCases(store, relay, service)
    started = time.perf_counter()
    for start in range(0, len(batch), BATCH):
        await handler.on_routed(batch[start : start + BATCH])
    return len(batch) / (time.perf_counter() - started)


async def raw_inserts(
    client: AsyncMongoClient[Document], database: str, documents: list[Document]
) -> float:
    """A bare insert_many loop, batches of 100, into a collection with the cases' indexes."""
    collection = client[database]["raw_cases"]
    await collection.create_index(
        [("unit_id", 1), ("state", 1), ("priority_rank", -1), ("due_at", 1)]
    )
    await collection.create_index([("next_deadline_at", 1)])
    await collection.create_index([("outbox.queued_at", 1)])
    started = time.perf_counter()
    for start in range(0, len(documents), BATCH):
        await collection.insert_many(documents[start : start + BATCH], ordered=False)
    return len(documents) / (time.perf_counter() - started)


async def measure(mongodb_uri: str, count: int) -> dict[str, Any]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    database = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        made = cases(count)
        documents = [routed_document([c]) for c in cases(count)]
        raw = await raw_inserts(client, database, documents)
        path = await case_path(client, database, made)
        size = sum(len(str(d)) for d in documents[:200]) // 200
        return {
            "server": await server_name(client),
            "case_path_per_s": path,
            "raw_insert_many_per_s": raw,
            "document_chars": size,
        }
    finally:
        await client.drop_database(database)
        await client.close()
