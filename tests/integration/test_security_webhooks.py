"""A webhook cannot be made a way into the notifier's own network (SSRF).

A notifier without an allow-list (as production runs, unless an intranet needs private
targets) refuses such a URL when it is subscribed, and refuses to deliver to it when an alert
fires, whether the subscription was stored before the check existed or names a host that only
resolves to an inner address when the delivery looks it up. The stack's own notifier, whose
allow-list names 127.0.0.1 (NOTIFIER_TEST_ENV), delivers to the same loopback receiver: the
refusals are the check's doing, not an unreachable receiver's.
"""

import asyncio
import ipaddress
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.events import AlertRaised
from notifier.models import Subscription, SubscriptionIn, WebhookDelivery
from services.launcher import spawn, wait_healthy
from tests.auth import as_needed
from tests.integration.conftest import Stack, free_port
from tests.integration.kafka_tools import produce, start_group_at_the_end
from tests.integration.notifier_support import (
    CHALING,
    HANYANG,
    SECRET,
    Receiver,
    alert,
    subscribe,
    webhook_receiver,
)
from tests.waiting import eventually

pytestmark = pytest.mark.integration

URL_FIELD = "delivery.webhook.url"

INNER_URLS = [
    "http://127.0.0.1:{port}/loopback",
    "http://127.9.9.9/loopback-range",
    "http://[::1]:{port}/",
    "http://0.0.0.0:{port}/",
    "http://[::]/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://100.64.0.1/",
    "http://100.100.100.200/latest/meta-data/",
    "http://2130706433:{port}/",
    "http://0x7f.1:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://localhost:{port}/",
    "http://user@hooks.example.cn/",
    "http://hooks.example.cn@127.0.0.1:{port}/",
]
OTHER_SCHEMES = ["ftp://hooks.example.cn/", "file:///etc/passwd", "gopher://127.0.0.1:6379/_"]


@dataclass
class StrictNotifier:
    """A notifier of this module's own, with no allow-list, over a database of its own."""

    url: str
    database: str
    process: subprocess.Popen[bytes]
    log_path: Path


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def own_name() -> str:
    """This machine's own host name: it resolves, without anything refusing it by name, to an
    address inside the machine (127.0.x.x from /etc/hosts, or a container's private address),
    as a rebound public name would."""
    name = socket.gethostname()
    addresses = set(resolve(name))
    assert addresses, f"{name} does not resolve"
    assert not any(address.is_global for address in addresses), f"{name} → {addresses}"
    return name


def resolve(name: str, family: int = 0) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    infos = socket.getaddrinfo(name, 80, family, socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


@pytest.fixture(scope="module")
def name_receiver(own_name: str) -> Iterator[Receiver]:
    """A receiver where this machine's name leads, so a delivery there would arrive."""
    with webhook_receiver(str(resolve(own_name, socket.AF_INET)[0])) as running:
        yield running


def stored_before_the_check(receiver: Receiver) -> dict[str, str]:
    """Subscriptions as a notifier without the check stored them: path → URL."""
    port = receiver.port
    return {
        "before-loopback": f"http://127.0.0.1:{port}/before-loopback",
        "before-decimal": f"http://2130706433:{port}/before-decimal",
        "before-localhost": f"http://localhost:{port}/before-localhost",
    }


async def store_old_subscriptions(database: Any, receiver: Receiver) -> None:
    for path, url in stored_before_the_check(receiver).items():
        delivery = WebhookDelivery(type="webhook", url=url, secret=SECRET)
        body = SubscriptionIn(unit_id=HANYANG, delivery=delivery, name=path)
        subscription = Subscription.create(body, alert().occurred_at)
        await database["subscriptions"].insert_one(subscription.to_document())


@pytest.fixture(scope="module")
async def strict(stack: Stack, receiver: Receiver) -> AsyncIterator[StrictNotifier]:
    env = dict(stack.env)
    env.pop("NOTIFIER_WEBHOOK_ALLOW", None)
    port = free_port()
    env.update(
        MONGODB_DATABASE=f"{stack.database}_strict",
        NOTIFIER_PORT=str(port),
        NOTIFIER_GROUP_ID=f"{env['NOTIFIER_GROUP_ID']}-strict",
    )
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.infra.mongodb_uri)
    database = client[env["MONGODB_DATABASE"]]
    await store_old_subscriptions(database, receiver)
    await start_group_at_the_end(stack.infra.kafka, env["NOTIFIER_GROUP_ID"])
    log_path = Path(tempfile.mkdtemp(prefix="tiaojie-strict-")) / "notifier.log"
    with log_path.open("ab") as log:
        process = spawn("notifier", env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_healthy, url, process)
        yield StrictNotifier(url, env["MONGODB_DATABASE"], process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        print(f"--- strict notifier log: {log_path}")
        await client.drop_database(env["MONGODB_DATABASE"])
        await client.close()


async def post_subscription(base_url: str, url: str) -> httpx.Response:
    body = {"unit_id": HANYANG, "delivery": {"type": "webhook", "url": url, "secret": SECRET}}
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        return await client.post(f"{base_url}/v1/subscriptions", json=body)


def refused_field(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    [field] = body["fields"]
    assert field["field"] == URL_FIELD
    result: dict[str, Any] = field
    return result


@pytest.mark.parametrize("template", INNER_URLS)
async def test_an_inner_webhook_url_is_refused_naming_the_field_and_nothing_is_stored(
    strict: StrictNotifier,
    receiver: Receiver,
    mongo: AsyncMongoClient[dict[str, Any]],
    template: str,
) -> None:
    subscriptions = mongo[strict.database]["subscriptions"]
    before = await subscriptions.count_documents({})

    field = refused_field(await post_subscription(strict.url, template.format(port=receiver.port)))

    assert field["code"] == "webhook_target_refused"
    assert field["message"].startswith("webhook target refused: ")
    assert field["params"]["why"]
    assert await subscriptions.count_documents({}) == before


@pytest.mark.parametrize("url", OTHER_SCHEMES)
async def test_a_webhook_url_of_another_scheme_is_refused_naming_the_field(
    strict: StrictNotifier, url: str
) -> None:
    refused_field(await post_subscription(strict.url, url))


async def test_the_allow_list_permits_what_it_names_and_nothing_more(
    stack: Stack, receiver: Receiver
) -> None:
    """The stack's notifier allows 127.0.0.1 only."""
    allowed = await post_subscription(stack.urls["notifier"], receiver.url("allow-listed"))
    assert allowed.status_code == 201, allowed.text
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        gone = f"{stack.urls['notifier']}/v1/subscriptions/{allowed.json()['subscription_id']}"
        assert (await client.delete(gone)).status_code == 204
    for url in ("http://127.0.0.2/", "http://169.254.169.254/", "http://10.0.0.1/"):
        field = refused_field(await post_subscription(stack.urls["notifier"], url))
        assert field["code"] == "webhook_target_refused"


async def test_a_subscription_stored_before_the_check_is_not_delivered_to(
    stack: Stack,
    strict: StrictNotifier,
    receiver: Receiver,
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        control = await subscribe(
            client,
            stack.urls["notifier"],
            unit_id=HANYANG,
            delivery={"type": "webhook", "url": receiver.url("control"), "secret": SECRET},
        )
        try:
            event = alert(unit_id=CHALING)
            await publish(stack, event)
            await eventually(
                lambda: has_alert(receiver, "control", event),
                what="the allow-listed notifier's delivery",
            )
        finally:
            gone = f"{stack.urls['notifier']}/v1/subscriptions/{control['subscription_id']}"
            await client.delete(gone)

    old = stored_before_the_check(receiver)
    database = mongo[strict.database]
    entries = await settled_entries(database, event, await ids_of(database, names=list(old)))
    for entry in entries:
        assert entry["state"] == "failed", entry
        assert entry["attempts"] == 1, "a refused target is not tried again"
        assert entry["detail"].startswith("target refused: "), entry["detail"]
        assert "127.0.0.1" in entry["detail"] or "localhost" in entry["detail"]
    for path in old:
        assert receiver.at(path) == [], f"{path} was delivered to"


async def test_a_name_that_resolves_inside_is_refused_when_the_alert_is_delivered(
    stack: Stack,
    strict: StrictNotifier,
    own_name: str,
    name_receiver: Receiver,
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    """The name passes the subscription check (names are not looked up then: their answer
    may change), and the lookup made for the delivery finds an inner address."""
    url = f"http://{own_name}:{name_receiver.port}/by-name"
    created = await post_subscription(strict.url, url)
    assert created.status_code == 201, created.text
    async with httpx.AsyncClient(timeout=10) as client:
        reachable = await client.post(url, content=b"{}", headers={"idempotency-key": "probe"})
    assert reachable.status_code == 200, "the URL leads to a live receiver"

    event = alert(unit_id=CHALING)
    await publish(stack, event)

    subscription_id = created.json()["subscription_id"]
    [entry] = await settled_entries(mongo[strict.database], event, {subscription_id})
    assert entry["state"] == "failed"
    assert entry["detail"].startswith(f"target refused: {own_name} resolves to "), entry
    assert [hook.headers["idempotency-key"] for hook in name_receiver.at("by-name")] == ["probe"]


async def publish(stack: Stack, event: AlertRaised) -> None:
    value = event.model_dump_json().encode()
    await produce(stack.infra.kafka, topics.ALERTS, value, event.correlation_id.encode())


async def has_alert(receiver: Receiver, path: str, event: AlertRaised) -> bool:
    return any(event.alert_id in hook.alert_ids() for hook in receiver.at(path))


async def settled_entries(
    database: Any, event: AlertRaised, subscription_ids: set[str]
) -> list[dict[str, Any]]:
    """The strict notifier's ledger entries for the alert and these subscriptions, once each
    has an outcome."""
    query = {"alert_id": event.alert_id, "subscription_id": {"$in": sorted(subscription_ids)}}

    async def settled() -> list[dict[str, Any]] | None:
        entries: list[dict[str, Any]] = await database["deliveries"].find(query).to_list()
        found = {entry["subscription_id"] for entry in entries}
        done = found == subscription_ids and all(e["state"] != "sending" for e in entries)
        return entries if done else None

    return await eventually(settled, timeout_s=30, what="the strict notifier's outcomes")


async def ids_of(database: Any, names: list[str]) -> set[str]:
    found = await database["subscriptions"].find({"name": {"$in": names}}).to_list()
    return {document["_id"] for document in found}
