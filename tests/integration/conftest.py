"""The real servers for integration tests, and one running stack shared by all of them.

Addresses come from KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI (set by `.ci/run` and by
`python -m services.devstack up`), else from testcontainers where Docker runs, else the tests
skip — and with TIAOJIE_REQUIRE_INFRA set, they fail instead.
"""

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from contracts import topics
from router.policy import DEFAULT_POLICY_PATH
from services.broker import ensure_topics
from services.launcher import SERVICES, spawn, wait_healthy
from tests.auth import TEST_AUTH_KEYS, TEST_WECHAT_SECRET
from tests.conftest import REQUIRE_INFRA, SERVERS_USED


@dataclass(frozen=True)
class Infra:
    kafka: str
    mongodb_uri: str
    source: str


@dataclass(frozen=True)
class Stack:
    infra: Infra
    database: str
    urls: dict[str, str]
    smtp_port: int = 0
    """Where the notifier sends e-mail; the notifier tests run an SMTP server there."""
    router_policy: Path | None = None
    """The policy file the stack's router watches: a copy tests may rewrite (and restore)."""
    env: dict[str, str] = field(default_factory=dict)
    """The environment the services run with, to start another replica of one of them."""
    log_dir: Path | None = None
    """Where each service's log is written, `<name>.log`."""
    start_offsets: dict[str, dict[int, int]] = field(default_factory=dict)
    """Each topic's end offsets when the stack started: what this run published comes after."""


def _reachable(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def _unavailable(reason: str) -> None:
    if REQUIRE_INFRA:
        pytest.fail(f"integration infrastructure required but unavailable: {reason}")
    pytest.skip(reason)


def _docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=10)
    return probe.returncode == 0


# Async clients in the synchronous fixtures too: their monitors end with the loop, where a
# threaded client's heartbeat could outlive the test run and log into closed streams.
async def _build_info(uri: str) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        return await client.admin.command("buildInfo")
    finally:
        await client.close()


async def _drop_database(uri: str, name: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        await client.drop_database(name)
    finally:
        await client.close()


def _describe(infra: Infra) -> str:
    """Name the servers as they name themselves, so the summary proves what was tested."""
    info = asyncio.run(_build_info(infra.mongodb_uri))
    database = (
        f"SecantusDB {info['secantusVersion']} (answers as MongoDB {info['version']})"
        if "secantusVersion" in info
        else f"MongoDB {info.get('version')}"
    )
    return f"Apache Kafka at {infra.kafka} and {database} at {infra.mongodb_uri} ({infra.source})"


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    for found in _find_infra():
        SERVERS_USED.append(_describe(found))
        try:
            yield found
        finally:
            asyncio.run(_delete_run_topics(found.kafka))


async def _delete_run_topics(bootstrap: str) -> None:
    """This run's topics (its own namespace) are of no use to anyone after it."""
    await delete_topics(bootstrap, prefix=f"{topics.NAMESPACE}.")


async def delete_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = await admin.list_topics()
        found = [name for name in existing if name.startswith(prefix)]
        if found:
            await admin.delete_topics(found)
    finally:
        await admin.close()


def _find_infra() -> Iterator[Infra]:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongodb_uri = os.environ.get("MONGODB_URI")
    if kafka and mongodb_uri:
        mongo_address = mongodb_uri.split("//", 1)[1].split("/", 1)[0]
        for address in (kafka.split(",")[0], mongo_address):
            if not _reachable(address):
                _unavailable(
                    f"{address} does not answer; is `python -m services.devstack up` done?"
                )
        yield Infra(kafka, mongodb_uri, "local servers")
        return
    if _docker_available():
        from testcontainers.kafka import KafkaContainer  # noqa: PLC0415 (Docker only)
        from testcontainers.mongodb import MongoDbContainer  # noqa: PLC0415

        with KafkaContainer().with_kraft() as kafka_c, MongoDbContainer("mongo:7") as mongo_c:
            yield Infra(
                kafka_c.get_bootstrap_server(), mongo_c.get_connection_url(), "testcontainers"
            )
        return
    _unavailable(
        "no KAFKA_BOOTSTRAP_SERVERS/MONGODB_URI and no Docker: run "
        "`eval $(python -m services.devstack up)` first"
    )


NOTIFIER_TEST_ENV = {
    # Retries, digests and the live stream on a test's time scale.
    "NOTIFIER_RETRY_BASE_S": "0.05",
    "NOTIFIER_RETRY_MAX_S": "0.5",
    "NOTIFIER_DELIVERY_TIMEOUT_S": "5",
    "NOTIFIER_DELIVERY_LEASE_S": "6",
    "NOTIFIER_SWEEP_INTERVAL_S": "0.5",
    "NOTIFIER_DIGEST_TICK_S": "0.2",
    "NOTIFIER_STREAM_HEARTBEAT_S": "1",
    "NOTIFIER_SMTP_HOST": "127.0.0.1",
    # The tests' webhook receivers listen on loopback, which a notifier refuses unless told.
    "NOTIFIER_WEBHOOK_ALLOW": "127.0.0.1",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def extra_service(name: str, env: dict[str, str], label: str) -> Iterator[str]:
    """One more process of a service, on a free port with `env` (the stack's, changed where
    a test needs), for the block; its URL. Its log's path is printed when it stops."""
    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix=f"tiaojie-{label}-")) / f"{label}.log"
    with log_path.open("ab") as log:
        process = spawn(name, {**env, f"{name.upper()}_PORT": str(port)}, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        stop(process)
        print(f"--- {label} log: {log_path}")


@pytest.fixture(scope="session")
def stack(infra: Infra) -> Iterator[Stack]:
    """The four services as real processes on free ports, over a database of their own."""
    with running_stack(infra) as started:
        yield started


@contextmanager
def running_stack(
    infra: Infra, names: tuple[str, ...] = tuple(SERVICES), namespace: str | None = None
) -> Iterator[Stack]:
    """Services as real processes on free ports, over a database of their own; with a
    `namespace`, on topics of their own too, apart from every other test's events."""
    run_id = uuid.uuid4().hex[:12]
    database = f"test_{run_id}"
    log_dir = Path(tempfile.mkdtemp(prefix="tiaojie-stack-"))
    router_policy = log_dir / "policy.yaml"
    shutil.copyfile(DEFAULT_POLICY_PATH, router_policy)
    env = _stack_env(infra, run_id, database, router_policy)
    if namespace:
        env["TIAOJIE_TOPIC_NAMESPACE"] = namespace
    smtp_port = free_port()
    env.update(NOTIFIER_TEST_ENV, NOTIFIER_SMTP_PORT=str(smtp_port))
    urls = {}
    for name in SERVICES:
        port = free_port()
        env[f"{name.upper()}_PORT"] = str(port)
        # Consumer groups of their own, so two test runs on one broker never share partitions.
        env[f"{name.upper()}_GROUP_ID"] = f"{name}-{run_id}"
        urls[name] = f"http://127.0.0.1:{port}"
        env[f"{name.upper()}_URL"] = urls[name]  # where each console links to the others
    if namespace is None:
        asyncio.run(ensure_topics(infra.kafka))
    # The run's topics are its own (a fresh namespace): everything on them is this run's.
    starts = {topic: dict.fromkeys(range(topics.PARTITIONS), 0) for topic in topics.ALL}
    processes = {}
    try:
        for name in names:
            with (log_dir / f"{name}.log").open("ab") as log:
                processes[name] = spawn(name, env, log)
        for name, process in processes.items():
            wait_healthy(urls[name], process)
        yield Stack(
            infra,
            database,
            urls,
            smtp_port=smtp_port,
            router_policy=router_policy,
            env=env,
            log_dir=log_dir,
            start_offsets=starts,
        )
    finally:
        for process in processes.values():
            process.terminate()
        for name, process in processes.items():
            stop(process)
            print(f"--- {name} log: {log_dir / (name + '.log')}")
        # Runs must not pile up on a long-lived server.
        asyncio.run(_drop_database(infra.mongodb_uri, database))
        if namespace:
            asyncio.run(delete_topics(infra.kafka, prefix=f"{namespace}."))


def _stack_env(infra: Infra, run_id: str, database: str, router_policy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka,
        MONGODB_URI=infra.mongodb_uri,
        MONGODB_DATABASE=database,
        HANDLER_RETRY_BACKOFF_S="0.1",
        ROUTER_POLICY_PATH=str(router_policy),
        ROUTER_POLICY_POLL_S="0.2",
        # Phone hashes (hence rebound match keys) of their own: the same test phone resolved
        # in another run on this broker must not make this run's reports rebounds.
        IDENTIFIER_SALT=f"test-{run_id}",
        # Deadline tests wait on the sweeper, not the clock.
        MEDIATION_SWEEP_INTERVAL_S="1",
        MEDIATION_SWEEP_LOOKBACK_S="120",
        AUTH_KEYS=TEST_AUTH_KEYS,
        INTAKE_WECHAT_SECRET=TEST_WECHAT_SECRET,
        TIAOJIE_ENV="development",  # development secrets above: said, not assumed
        # The suite sends hundreds of reports under one token; the limit has its own test.
        INTAKE_SUBMIT_RATE_PER_S="1000",
        INTAKE_SUBMIT_BURST="100000",
        # And hundreds of WeChat messages (simulator, chaos, bench) through one bot, some groups
        # busy: the WeChat limits have their own test, on an intake of its own.
        INTAKE_WECHAT_GROUP_RATE_PER_S="1000",
        INTAKE_WECHAT_GROUP_BURST="100000",
        INTAKE_WECHAT_BOT_RATE_PER_S="1000",
        INTAKE_WECHAT_BOT_BURST="100000",
        # The metrics test replays history dated decades back; never before a case's last entry
        # still holds, and the default grace has unit tests.
        MEDIATION_BACKDATE_GRACE_S=str(150 * 365 * 24 * 3600),
    )
    return env


@pytest.fixture
async def mongo(infra: Infra) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    try:
        yield client
    finally:
        await client.close()
