"""The processes a chaos run breaks: the four services (kill -9 and start again) and the
servers (Kafka, the MongoDB server), restarted through the devstack that runs them."""

import asyncio
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pymongo import AsyncMongoClient

from contracts import topics
from router.policy import DEFAULT_POLICY_PATH
from services.broker import ensure_topics
from services.devstack.__main__ import Stack as Devstack
from services.launcher import SERVICES, spawn, wait_healthy
from tests.auth import TEST_AUTH_KEYS, TEST_WECHAT_SECRET
from tests.integration.conftest import NOTIFIER_TEST_ENV, free_port

RESTART_SERVERS_VAR = "TIAOJIE_CHAOS_RESTART_SERVERS"
"""Set (to 1) only where the servers belong to this run (CI, or a stack of one's own): a
broker or database restart would break everyone else's work on a shared stack."""


def may_restart_servers() -> bool:
    return os.environ.get(RESTART_SERVERS_VAR, "") not in ("", "0", "false")


def _address(uri: str) -> str:
    return uri.split("//", 1)[-1].split("/", 1)[0]


def devstack_of(kafka: str, mongodb_uri: str) -> Devstack:
    """The devstack that runs the servers at these addresses (same DEVSTACK_HOME and ports),
    refusing any other: restarting servers the clients do not use would prove nothing."""
    devstack = Devstack.from_env()
    ours = (f"127.0.0.1:{devstack.ports.kafka}", f"127.0.0.1:{devstack.ports.mongodb}")
    if ours != (kafka.split(",", maxsplit=1)[0], _address(mongodb_uri)):
        raise RuntimeError(
            f"the devstack of DEVSTACK_HOME/ports serves {ours}, the run uses "
            f"{kafka} and {mongodb_uri}: set KAFKA_PORT/MONGODB_PORT/DEVSTACK_HOME to match"
        )
    return devstack


def restart_broker(devstack: Devstack) -> None:
    devstack.kafka.stop()
    devstack.kafka.wait(devstack.kafka.start())


def restart_database(devstack: Devstack) -> None:
    devstack.mongodb.stop()
    devstack.mongodb.wait(devstack.mongodb.start())


def ensure_servers_up(devstack: Devstack) -> None:
    """Leave the servers as the run found them: running and answering."""
    for server in devstack.servers:
        if not server.status().ready:
            server.wait(server.start())


@dataclass
class Services:
    """The four services as processes over a database and consumer groups of this run."""

    kafka: str
    mongodb_uri: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tiaojie-chaos-")))
    env: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def database(self) -> str:
        return f"chaos_{self.run_id}"

    def configure(self) -> None:
        policy = self.log_dir / "policy.yaml"
        shutil.copyfile(DEFAULT_POLICY_PATH, policy)
        env = dict(os.environ)
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.kafka,
            # The topics this process reads back: importing the test helpers may have set
            # another namespace in the environment after `contracts.topics` was loaded.
            TIAOJIE_TOPIC_NAMESPACE=topics.NAMESPACE,
            MONGODB_URI=self.mongodb_uri,
            MONGODB_DATABASE=self.database,
            HANDLER_RETRY_BACKOFF_S="0.1",
            ROUTER_POLICY_PATH=str(policy),
            IDENTIFIER_SALT=f"chaos-{self.run_id}",
            MEDIATION_SWEEP_LOOKBACK_S="120",
            AUTH_KEYS=TEST_AUTH_KEYS,
            INTAKE_WECHAT_SECRET=TEST_WECHAT_SECRET,
            TIAOJIE_ENV="development",  # a per-run salt and the development sealing key
            INTAKE_SUBMIT_RATE_PER_S="1000",
            INTAKE_SUBMIT_BURST="100000",
            **NOTIFIER_TEST_ENV,
            NOTIFIER_SMTP_PORT=str(free_port()),
        )
        for name in SERVICES:
            port = free_port()
            env[f"{name.upper()}_PORT"] = str(port)
            env[f"{name.upper()}_GROUP_ID"] = f"{name}-chaos-{self.run_id}"
            self.urls[name] = f"http://127.0.0.1:{port}"
            env[f"{name.upper()}_URL"] = self.urls[name]
        self.env = env

    async def start_all(self) -> None:
        self.configure()
        await ensure_topics(self.kafka)  # the run's own namespace: nothing earlier to skip
        for name in SERVICES:
            self._spawn(name)
        for name in SERVICES:
            await asyncio.to_thread(wait_healthy, self.urls[name], self.processes[name])

    def _spawn(self, name: str) -> None:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            self.processes[name] = spawn(name, self.env, log)

    async def kill_and_restart(self, name: str) -> None:
        """kill -9: no shutdown hook runs, in-flight batches and requests are simply lost."""
        process = self.processes[name]
        process.kill()
        await asyncio.to_thread(process.wait)
        self._spawn(name)
        await asyncio.to_thread(wait_healthy, self.urls[name], self.processes[name], 120)

    async def drop_database(self) -> None:
        """The run's own database, so runs do not pile up."""
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(self.mongodb_uri)
        try:
            await client.drop_database(self.database)
        finally:
            await client.close()

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
