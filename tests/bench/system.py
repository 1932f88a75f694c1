"""The whole system on one machine: end-to-end latency with an open-loop generator, the rate
it sustains over a county's stored history, its bare-minimum ceiling, and each service's peak
memory.

A case is visible in its unit's queue once mediation has stored it: mediation announces it
(CaseAssigned on the lifecycle topic) only after the insert, so the announcement's record
timestamp is when the case became visible, read without polling the database. The intake
answers 202 once its DisputeReported is acknowledged, so that record's timestamp is the 202,
taken on the server's clock: the generator's own clock runs late when its process is busy.
"""

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from contracts import topics
from mediation.models import routed_document
from services.mongo import MAX_BULK_STATEMENTS
from tests.auth import as_needed
from tests.bench.case_writes import cases
from tests.bench.kafka_paths import create_topics
from tests.chaos.harness import villages
from tests.chaos.servers import Services
from tests.factories import hotline_body

Document = dict[str, Any]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    if not samples_ms:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "p999_ms": float("nan")}
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50_ms": at(0.5), "p99_ms": at(0.99), "p999_ms": at(0.999), "count": len(ordered)}


@dataclass
class Load:
    """One open-loop run: reports sent on a fixed schedule, each 202's time kept."""

    rate: float
    seconds: float
    accepted_at: dict[str, float] = field(default_factory=dict)
    visible_at: dict[str, float] = field(default_factory=dict)
    reported_at: dict[str, float] = field(default_factory=dict)
    late_sends: int = 0
    refused: int = 0
    sending_s: float = 0.0

    def latencies_ms(self) -> list[float]:
        return [
            (self.visible_at[i] - self.reported_at.get(i, at)) * 1000
            for i, at in self.accepted_at.items()
            if i in self.visible_at
        ]


async def _send(
    client: httpx.AsyncClient, url: str, body: Document, load: Load, gate: asyncio.Semaphore
) -> None:
    try:
        async with gate:  # httpx's pool slows down badly with thousands of queued requests
            response = await client.post(url, json=body)
    except httpx.HTTPError:
        load.refused += 1
        return
    if response.status_code == 202:
        load.accepted_at[response.json()["dispute_id"]] = time.time()
    else:
        load.refused += 1


async def drive(intake: str, load: Load) -> None:
    """A fixed send schedule: a slow answer never delays the next send (open loop)."""
    places = villages()
    total = int(load.rate * load.seconds)
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
    gate = asyncio.Semaphore(128)
    async with httpx.AsyncClient(auth=as_needed, timeout=30, limits=limits) as client:
        tasks = []
        start = time.monotonic()
        for number in range(total):
            due = start + number / load.rate
            wait = due - time.monotonic()
            if wait < -0.01:
                load.late_sends += 1
            await asyncio.sleep(max(wait, 0))
            body = hotline_body(village_id=places[number % len(places)])
            body["parties"][0]["village_id"] = body["village_id"]
            tasks.append(
                asyncio.create_task(_send(client, f"{intake}/v1/disputes", body, load, gate))
            )
        await asyncio.gather(*tasks)
        load.sending_s = time.monotonic() - start


async def watch_assigned(kafka: str, load: Load, stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(
        topics.CASES_LIFECYCLE,
        topics.DISPUTES_REPORTED,
        bootstrap_servers=kafka,
        auto_offset_reset="latest",
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                for record in batch:
                    if not record.key:
                        continue
                    at, key = record.timestamp / 1000, record.key.decode()
                    if record.topic == topics.DISPUTES_REPORTED:
                        load.reported_at.setdefault(key, at)
                    elif b'"CaseAssigned"' in record.value:
                        load.visible_at.setdefault(key, at)
    finally:
        await consumer.stop()


async def run_load(services: Services, rate: float, seconds: float) -> Load:
    """Drive the stack, then wait (up to 30 s) for the cases of the accepted reports."""
    load = Load(rate, seconds)
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_assigned(services.kafka, load, stop))
    await asyncio.sleep(2)  # the watcher's partitions assigned before the first send
    await drive(services.urls["intake"], load)
    for _ in range(60):  # up to 30 s
        if set(load.accepted_at) <= set(load.visible_at):
            break
        await asyncio.sleep(0.5)
    stop.set()
    await watcher
    return load


def sustained(load: Load) -> bool:
    """Held: every report accepted and visible, none later than 2 s (consumer lag under 2 s),
    and the generator kept its schedule (sending took at most 5% longer than planned)."""
    latencies = load.latencies_ms()
    return (
        load.refused == 0
        and len(latencies) == len(load.accepted_at)
        and bool(latencies)
        and max(latencies) < 2000
        and load.sending_s <= 1.05 * load.seconds
    )


async def bare_hop(kafka: str, rate: float, seconds: float) -> dict[str, float]:
    """One Kafka hop at the same rate and schedule: produce (acks=all) to consume."""
    topic = f"bench.hop.{uuid.uuid4().hex[:8]}"
    await create_topics(kafka, topic)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka, auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    total = int(rate * seconds)
    latencies: list[float] = []

    async def receive() -> None:
        while len(latencies) < total:
            batches = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for batch in batches.values():
                latencies.extend((now - float(r.value)) * 1000 for r in batch)

    try:
        await asyncio.sleep(1)
        receiving = asyncio.create_task(receive())
        start = time.monotonic()
        for number in range(total):
            wait = start + number / rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await producer.send(topic, str(time.time()).encode(), key=str(number).encode())
        await asyncio.wait_for(receiving, timeout=60)
    finally:
        await producer.stop()
        await consumer.stop()
    return percentiles(latencies)


async def prestore(mongodb_uri: str, database: str, count: int) -> float:
    """A county's decade of history in the stack's own database, before any load."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    started = time.perf_counter()
    try:
        collection = client[database]["cases"]
        documents = [routed_document([c]) for c in cases(count)]  # numbered 0..count-1
        for start in range(0, len(documents), MAX_BULK_STATEMENTS):
            part = documents[start : start + MAX_BULK_STATEMENTS]
            await collection.insert_many(part, ordered=False)
    finally:
        await client.close()
    return time.perf_counter() - started


async def bare_minimum(kafka: str, mongodb_uri: str, count: int) -> float:
    """The least a report needs, as fast as it goes: three Kafka hops (intake → router →
    mediation → announcement) of produce + consume each, and one case insert."""
    names = [f"bench.min.{uuid.uuid4().hex[:8]}.{i}" for i in range(3)]
    await create_topics(kafka, *names)
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    database = f"bench_min_{uuid.uuid4().hex[:8]}"
    documents = [routed_document([c]) for c in cases(min(count, 2000))]
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka, acks="all", enable_idempotence=True, linger_ms=2
    )
    await producer.start()
    done = asyncio.Event()
    stored = 0

    async def stage(source: str, sink: str | None) -> None:
        nonlocal stored
        consumer = AIOKafkaConsumer(
            source, bootstrap_servers=kafka, auto_offset_reset="earliest", max_poll_records=500
        )
        await consumer.start()
        try:
            while not done.is_set():
                batches = await consumer.getmany(timeout_ms=100, max_records=500)
                records = [r for batch in batches.values() for r in batch]
                if not records:
                    continue
                if sink is None:
                    for first in range(0, len(records), MAX_BULK_STATEMENTS):
                        part = records[first : first + MAX_BULK_STATEMENTS]
                        docs = [
                            {**documents[int(r.key or b"0") % len(documents)], "_id": r.key}
                            for r in part
                        ]
                        await client[database]["cases"].insert_many(docs, ordered=False)
                    stored += len(records)
                    if stored >= count:
                        done.set()
                else:
                    futures = [await producer.send(sink, r.value, key=r.key) for r in records]
                    await asyncio.gather(*futures)
        finally:
            await consumer.stop()

    try:
        stages = [
            asyncio.create_task(stage(names[0], names[1])),
            asyncio.create_task(stage(names[1], names[2])),
            asyncio.create_task(stage(names[2], None)),
        ]
        await asyncio.sleep(2)
        payload = b"x" * 1500
        started = time.perf_counter()
        futures = [
            await producer.send(names[0], payload, key=str(i).encode()) for i in range(count)
        ]
        await asyncio.gather(*futures)
        await asyncio.wait_for(done.wait(), timeout=300)
        rate = count / (time.perf_counter() - started)
        await asyncio.gather(*stages)
        return rate
    finally:
        await producer.stop()
        await client.drop_database(database)
        await client.close()


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
