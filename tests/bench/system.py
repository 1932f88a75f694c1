"""The whole system on one machine: end-to-end latency with an open-loop generator, the rate
it sustains over a county's stored history, its bare-minimum ceiling, and each service's peak
memory.

A case is visible in its unit's queue once mediation has stored it: mediation announces it
(CaseAssigned on the lifecycle topic) only after the insert, so the announcement's record
timestamp is when the case became visible, read without polling the database. The latency
runs from the moment the generator read the 202 (same machine, same clock).
"""

import asyncio
import contextlib
import os
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pymongo import AsyncMongoClient

from contracts import topics
from mediation.models import routed_document
from tests.bench.case_writes import cases
from tests.bench.http_load import Load, drive
from tests.bench.kafka_paths import create_topics
from tests.chaos.servers import Services

Document = dict[str, Any]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    if not samples_ms:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "p999_ms": float("nan")}
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50_ms": at(0.5), "p99_ms": at(0.99), "p999_ms": at(0.999), "count": len(ordered)}


class Watcher:
    """Reads when each case was announced, from the moment it is ready (its partitions at
    their ends) until the case of every accepted report is visible."""

    def __init__(self, kafka: str, load: Load) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
        self._load = load
        self.sent = asyncio.Event()

    async def start(self) -> None:
        await self._consumer.start()
        cluster = await self._consumer._client.fetch_all_metadata()
        partitions = [
            TopicPartition(topics.CASES_LIFECYCLE, partition)
            for partition in cluster.partitions_for_topic(topics.CASES_LIFECYCLE) or ()
        ]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for partition in partitions:  # resolve the end offsets now, before anything is sent
            await self._consumer.position(partition)

    async def until_visible(self) -> None:
        load = self._load
        try:
            while not (self.sent.is_set() and load.accepted_at.keys() <= load.visible_at.keys()):
                batches = await self._consumer.getmany(timeout_ms=200)
                for batch in batches.values():
                    for record in batch:
                        self._read(record.key, record.value, record.timestamp)
        finally:
            await self._consumer.stop()

    def _read(self, key: bytes | None, value: bytes, timestamp_ms: int) -> None:
        if not key:
            return
        if b'"CaseAssigned"' in value:
            self._load.visible_at.setdefault(key.decode(), timestamp_ms / 1000)


async def run_load(services: Services, rate: float, seconds: float) -> Load:
    """Drive the stack, then wait (up to 30 s) for the cases of the accepted reports."""
    load = Load(rate, seconds)
    meter = CpuMeter({name: process.pid for name, process in services.processes.items()})
    watcher = Watcher(services.kafka, load)
    await watcher.start()
    watching = asyncio.create_task(watcher.until_visible())
    await drive(services.urls["intake"], load)
    watcher.sent.set()
    with contextlib.suppress(TimeoutError):  # a case still missing then shows as missing
        await asyncio.wait_for(watching, timeout=30)
    load.cpu_ms_per_report = meter.per_report_ms(len(load.accepted_at))
    return load


def sustained(load: Load) -> bool:
    """Held: every report sent, accepted and visible, none later than 2 s (consumer lag under
    2 s), and the generator kept its schedule (sending took at most 5% longer than planned)."""
    latencies = load.latencies_ms()
    return (
        load.stopped_after_s is None
        and load.refused == 0
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
        await collection.insert_many(documents, ordered=False)
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
                    docs = [
                        {**documents[int(r.key or b"0") % len(documents)], "_id": r.key}
                        for r in records
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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _servers_here() -> dict[int, str]:
    """Kafka and the database servers, when they run on this machine."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        name = next((name for name, mark in SERVER_MARKERS if mark in command), None)
        if name is not None:
            found[int(entry.name)] = name
    return found


SERVER_MARKERS = (
    ("kafka", b"kafka.Kafka"),
    ("secantus", b"secantusd-"),
)
"""Command-line marks of the servers' processes; the first that matches names the process."""


class CpuMeter:
    """CPU time of every process taking part in a run, per report: the four services, this
    generator, and Kafka and the database servers where they run here. It shows where a
    machine's cores went, which is the reason a rate was or was not held."""

    def __init__(self, services: dict[str, int]) -> None:
        self._processes = {pid: name for name, pid in services.items()} | _servers_here()
        self._processes[os.getpid()] = "generator"
        self._started = {pid: _cpu_seconds(pid) for pid in self._processes}

    def per_report_ms(self, reports: int) -> dict[str, float]:
        spent: dict[str, float] = {}
        for pid, name in self._processes.items():
            used = _cpu_seconds(pid) - self._started[pid]
            spent[name] = spent.get(name, 0.0) + max(used, 0.0)
        return {name: seconds * 1000 / max(reports, 1) for name, seconds in spent.items()}
