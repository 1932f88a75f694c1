"""Killing the notifier mid-delivery and starting it again never gives a subscriber an alert
twice: the claim survives, the sweep resumes it, receivers dedupe by the idempotency key."""

import asyncio
import os
import subprocess
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.events import AlertRaised
from contracts.vocabulary import AlertKind
from services.launcher import spawn, wait_healthy
from tests.auth import as_needed
from tests.integration.conftest import NOTIFIER_TEST_ENV, Infra, free_port
from tests.integration.kafka_tools import produce, start_group_at_the_end
from tests.integration.notifier_support import (
    CHALING,
    SECRET,
    Receiver,
    alert,
    subscribe,
    webhook_receiver,
)
from tests.waiting import eventually

pytestmark = pytest.mark.integration


@dataclass
class Notifier:
    """A notifier process of this test's own, over a database of its own."""

    env: dict[str, str]
    url: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = spawn("notifier", self.env, log)
        await asyncio.to_thread(wait_healthy, self.url, self.process)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no shutdown code runs
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
async def notifier(infra: Infra) -> AsyncIterator[Notifier]:
    run_id = uuid.uuid4().hex[:12]
    port = free_port()
    env = dict(os.environ)
    env.update(
        NOTIFIER_TEST_ENV,
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka,
        MONGODB_URI=infra.mongodb_uri,
        MONGODB_DATABASE=f"test_restart_{run_id}",
        NOTIFIER_PORT=str(port),
        NOTIFIER_GROUP_ID=f"notifier-restart-{run_id}",
        NOTIFIER_DELIVERY_TIMEOUT_S="3",
        NOTIFIER_DELIVERY_LEASE_S="4",
    )
    await start_group_at_the_end(infra.kafka, env["NOTIFIER_GROUP_ID"])
    log_path = Path(tempfile.mkdtemp(prefix="tiaojie-restart-")) / "notifier.log"
    running = Notifier(env, f"http://127.0.0.1:{port}", log_path)
    try:
        yield running
    finally:
        running.stop()
        print(f"--- restarted notifier log: {log_path}")
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_uri)
        await client.drop_database(env["MONGODB_DATABASE"])
        await client.close()


async def test_killed_mid_delivery_and_restarted_the_notifier_does_not_double_send(
    infra: Infra, notifier: Notifier, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    with webhook_receiver() as receiver:
        await notifier.start()
        async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
            # "unprocessed": the receiver had not taken the alert in when the sender died.
            # "processed": it had, but the sender died before hearing the answer.
            subscriptions = {
                path: await subscribe(
                    client,
                    notifier.url,
                    unit_id=CHALING,
                    delivery={"type": "webhook", "url": receiver.url(path), "secret": SECRET},
                )
                for path in ("unprocessed", "processed")
            }
        receiver.held_answer.update(unprocessed=503, processed=200)
        gates = {path: receiver.hold.setdefault(path, threading.Event()) for path in subscriptions}
        event = alert()
        await publish(infra, event)
        await eventually(lambda: _both_held(receiver), what="both deliveries in flight")
        notifier.kill()
        for gate in gates.values():
            gate.set()

        await notifier.start()
        sentinel = alert(kind=AlertKind.DEADLINE_BREACH, case_id=event.case_id)
        await publish(infra, sentinel)
        database = mongo[notifier.env["MONGODB_DATABASE"]]

        async def settled() -> bool:
            entries = await database["deliveries"].find({}).to_list()
            return len(entries) == 4 and all(e["state"] == "delivered" for e in entries)

        await eventually(settled, timeout_s=30, what="all four deliveries recorded")

    for path, subscription in subscriptions.items():
        hooks = [h for h in receiver.at(path) if event.alert_id in h.alert_ids()]
        assert len(hooks) == 2, f"{path}: the in-flight delivery was not resumed exactly once"
        assert len({h.key for h in hooks}) == 1
        assert len({h.body for h in hooks}) == 1
        assert all(h.verified for h in hooks)
        entry = await database["deliveries"].find_one(
            {"alert_id": event.alert_id, "subscription_id": subscription["subscription_id"]}
        )
        assert entry is not None
        assert entry["claims"] == 1, "resumed by exactly one sweep"
        assert hooks[0].key == entry["idempotency_key"]
        sentinel_hooks = [h for h in receiver.at(path) if sentinel.alert_id in h.alert_ids()]
        assert len(sentinel_hooks) == 1
    unprocessed = [h for h in receiver.at("unprocessed") if event.alert_id in h.alert_ids()]
    assert [h.answered for h in unprocessed] == [503, 200]
    # The receiver of "processed" saw the resend and dropped it by its idempotency key.
    processed_keys = [h.key for h in receiver.at("processed") if event.alert_id in h.alert_ids()]
    assert processed_keys[0] in receiver.processed
    assert await database["alerts"].count_documents({"_id": event.alert_id}) == 1


async def _both_held(receiver: Receiver) -> bool:
    return receiver.held.get("unprocessed", 0) >= 1 and receiver.held.get("processed", 0) >= 1


async def publish(infra: Infra, event: AlertRaised) -> None:
    await produce(
        infra.kafka, topics.ALERTS, event.model_dump_json().encode(), event.correlation_id.encode()
    )
