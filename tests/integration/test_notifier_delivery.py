"""An alert reaches each subscribed supervisor once, by webhook, e-mail and live stream."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.events import AlertRaised
from contracts.vocabulary import AlertKind, Priority
from tests.auth import as_needed
from tests.integration.conftest import Stack
from tests.integration.kafka_tools import end_offsets, produce, read_until
from tests.integration.notifier_support import (
    CHALING,
    HANYANG,
    SECRET,
    Mailbox,
    Receiver,
    alert,
    body_text,
    reading,
    smtp_server,
    subscribe,
    webhook_receiver,
)
from tests.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture(autouse=True)
async def unsubscribe_afterwards(stack: Stack) -> AsyncIterator[None]:
    """Each test's subscriptions point at its own receiver: remove them when it ends."""
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        before = {s["subscription_id"] for s in (await client.get(_subscriptions(stack))).json()}
        yield
        for item in (await client.get(_subscriptions(stack))).json():
            if item["subscription_id"] not in before:
                await client.delete(f"{_subscriptions(stack)}/{item['subscription_id']}")


def _subscriptions(stack: Stack) -> str:
    return f"{stack.urls['notifier']}/v1/subscriptions"


@pytest.fixture(scope="module")
def mailbox(stack: Stack) -> Iterator[Mailbox]:
    with smtp_server(stack.smtp_port) as running:
        yield running


async def publish(stack: Stack, event: AlertRaised) -> None:
    await produce(
        stack.infra.kafka,
        topics.ALERTS,
        event.model_dump_json().encode(),
        event.correlation_id.encode(),
    )


def webhook(receiver: Receiver, path: str, **extra: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": receiver.url(path), "secret": SECRET, **extra}


async def test_escalation_in_a_village_reaches_the_town_supervisor_once_on_every_channel(
    stack: Stack, receiver: Receiver, mailbox: Mailbox, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    url = stack.urls["notifier"]
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        hook = await subscribe(
            client,
            url,
            unit_id=HANYANG,
            kinds=["escalation", "deadline_breach"],
            delivery=webhook(receiver, "town"),
        )
        mail = await subscribe(
            client,
            url,
            unit_id=HANYANG,
            kinds=["escalation", "deadline_breach"],
            delivery={"type": "email", "to": ["duban@hanyang.example.cn"]},
        )
        live = await subscribe(
            client,
            url,
            unit_id=HANYANG,
            kinds=["escalation", "deadline_breach"],
            delivery={"type": "sse"},
        )
        await subscribe(
            client, url, unit_id="hanyin-shuanghekou", delivery=webhook(receiver, "other-town")
        )
        await subscribe(
            client, url, unit_id=HANYANG, kinds=["rebound"], delivery=webhook(receiver, "rebound")
        )
    escalation = alert(unit_id=CHALING)
    # Same case, later on the same partition: once it is through, so is every copy before it.
    sentinel = alert(kind=AlertKind.DEADLINE_BREACH, case_id=escalation.case_id)
    stream_url = f"{url}/v1/alerts/stream?subscription_id={live['subscription_id']}"
    with reading(stream_url) as stream:
        for event in (escalation, escalation, sentinel):  # the producer re-emitted the alert
            await publish(stack, event)

        async def sentinel_everywhere() -> bool:
            return (
                any(sentinel.alert_id in h.alert_ids() for h in receiver.at("town"))
                and bool(mailbox.mentioning(sentinel.alert_id))
                and sentinel.alert_id in stream.alert_ids()
            )

        await eventually(sentinel_everywhere, what="the sentinel alert on every channel")

    hooks = [h for h in receiver.at("town") if escalation.alert_id in h.alert_ids()]
    assert len(hooks) == 1
    assert hooks[0].verified, "signature does not verify with the subscription's secret"
    assert hooks[0].payload["alert"]["title"] == escalation.title
    assert hooks[0].payload["subscription_id"] == hook["subscription_id"]
    mails = mailbox.mentioning(escalation.alert_id)
    assert len(mails) == 1
    assert mails[0]["To"] == "duban@hanyang.example.cn"
    assert "汉阳镇" in body_text(mails[0])
    assert stream.alert_ids().count(escalation.alert_id) == 1
    assert receiver.at("other-town") == []
    assert receiver.at("rebound") == []

    ledger = mongo[stack.database]["deliveries"]
    entries = await ledger.find({"alert_id": escalation.alert_id}).to_list()
    assert sorted(e["subscription_id"] for e in entries) == sorted(
        [hook["subscription_id"], mail["subscription_id"]]
    )
    assert {e["state"] for e in entries} == {"delivered"}
    webhook_entry = next(e for e in entries if e["subscription_id"] == hook["subscription_id"])
    assert hooks[0].key == webhook_entry["idempotency_key"]
    assert (
        mails[0]["X-Tiaojie-Idempotency-Key"]
        == next(e for e in entries if e["subscription_id"] == mail["subscription_id"])[
            "idempotency_key"
        ]
    )


async def test_stream_resumes_after_the_last_event_id(stack: Stack) -> None:
    url = stack.urls["notifier"]
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        live = await subscribe(client, url, unit_id=CHALING, delivery={"type": "sse"})
    first, second, third = alert(), alert(), alert()
    stream_url = f"{url}/v1/alerts/stream?subscription_id={live['subscription_id']}"
    with reading(stream_url) as stream:
        await publish(stack, first)
        await eventually(lambda: _has(stream.alert_ids(), first.alert_id), what="first alert")
    first_id = next(i for i, item in stream.events if item["alert_id"] == first.alert_id)
    for missed in (second, third):  # while no one is listening
        await publish(stack, missed)
    with reading(stream_url, last_event_id=first_id) as resumed:

        async def both_missed() -> bool:
            return {second.alert_id, third.alert_id} <= set(resumed.alert_ids())

        await eventually(both_missed, what="the two missed alerts")
    # Exactly those (in the order they were logged, which Kafka partitions may swap).
    assert sorted(resumed.alert_ids()) == sorted([second.alert_id, third.alert_id])


async def test_a_stream_that_cannot_resume_says_so_and_goes_on_live(stack: Stack) -> None:
    url = stack.urls["notifier"]
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        live = await subscribe(client, url, unit_id=CHALING, delivery={"type": "sse"})
        stream_url = f"{url}/v1/alerts/stream?subscription_id={live['subscription_id']}"
        malformed = await client.get(stream_url, headers={"Last-Event-ID": "not-a-position"})
    assert malformed.status_code == 422
    assert "Last-Event-ID" in malformed.text
    later = alert()
    with reading(stream_url, last_event_id="00") as stream:
        await eventually(lambda: _has(stream.gaps, "00"), what="the gap notice")
        await publish(stack, later)
        await eventually(lambda: _has(stream.alert_ids(), later.alert_id), what="a live alert")


async def _has(ids: list[str], wanted: str) -> bool:
    return wanted in ids


async def test_a_receiver_that_fails_twice_gets_the_alert_on_the_third_attempt(
    stack: Stack, receiver: Receiver, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        hook = await subscribe(
            client, stack.urls["notifier"], unit_id=CHALING, delivery=webhook(receiver, "flaky")
        )
    receiver.failures["flaky"] = 2
    event = alert()
    await publish(stack, event)
    await eventually(lambda: _accepted(receiver, "flaky"), what="an accepted delivery")
    hooks = receiver.at("flaky")
    assert [h.answered for h in hooks] == [500, 500, 200]
    assert [h.headers["x-tiaojie-attempt"] for h in hooks] == ["1", "2", "3"]
    assert len({h.key for h in hooks}) == 1
    assert len({h.body for h in hooks}) == 1, "the body must not change between attempts"
    assert all(h.verified for h in hooks)
    ledger = mongo[stack.database]["deliveries"]

    async def recorded() -> dict[str, Any] | None:
        entry = await ledger.find_one({"alert_id": event.alert_id})
        return entry if entry and entry["state"] == "delivered" else None

    entry = await eventually(recorded, what="the delivery recorded")
    assert entry["subscription_id"] == hook["subscription_id"]
    assert entry["attempts"] == 3


async def _accepted(receiver: Receiver, path: str) -> bool:
    return any(h.answered == 200 for h in receiver.at(path))


async def test_a_receiver_that_never_answers_is_recorded_failed_and_dead_lettered(
    stack: Stack, receiver: Receiver, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        hook = await subscribe(
            client, stack.urls["notifier"], unit_id=CHALING, delivery=webhook(receiver, "down")
        )
    receiver.failures["down"] = 1_000
    event = alert()
    start = await end_offsets(stack.infra.kafka, topics.DEAD_LETTER)
    await publish(stack, event)
    sid = hook["subscription_id"]
    records = await read_until(
        stack.infra.kafka,
        start,
        lambda seen: any(_headers(r).get("x-dlq-subscription-id") == sid for r in seen),
    )
    dead = next(r for r in records if _headers(r).get("x-dlq-subscription-id") == sid)
    headers = _headers(dead)
    assert AlertRaised.model_validate_json(dead.value).alert_id == event.alert_id
    assert headers["x-dlq-original-topic"] == topics.ALERTS
    assert headers["x-dlq-attempts"] == "5"
    assert "HTTP 500" in headers["x-dlq-error"]
    assert len(receiver.at("down")) == 5
    ledger = mongo[stack.database]["deliveries"]

    async def failed() -> bool:
        entry = await ledger.find_one({"alert_id": event.alert_id})
        return entry is not None and entry["state"] == "failed"

    await eventually(failed, what="the delivery recorded as failed")


def _headers(record: Any) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


async def test_invalid_alert_is_dead_lettered_and_the_next_one_still_delivered(
    stack: Stack, receiver: Receiver
) -> None:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        await subscribe(
            client,
            stack.urls["notifier"],
            unit_id=CHALING,
            delivery=webhook(receiver, "after-poison"),
        )
    good = alert()
    poison = b'{"event_type": "AlertRaised", "kind": "earthquake"}'
    start = await end_offsets(stack.infra.kafka, topics.DEAD_LETTER)
    key = good.correlation_id.encode()
    await produce(stack.infra.kafka, topics.ALERTS, poison, key)
    await publish(stack, good)
    records = await read_until(
        stack.infra.kafka, start, lambda seen: any(r.key == key for r in seen)
    )
    headers = {n: v.decode() for n, v in next(r for r in records if r.key == key).headers}
    assert headers["x-dlq-original-topic"] == topics.ALERTS
    assert headers["x-dlq-consumer-group"].startswith("notifier")
    assert "kind" in headers["x-dlq-error"]
    await eventually(lambda: _accepted(receiver, "after-poison"), what="the good alert delivered")
    assert receiver.at("after-poison")[0].alert_ids() == [good.alert_id]


async def test_digest_batches_normal_alerts_and_sends_urgent_ones_at_once(
    stack: Stack, receiver: Receiver
) -> None:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        await subscribe(
            client,
            stack.urls["notifier"],
            unit_id=HANYANG,
            digest_minutes=0.05,
            delivery=webhook(receiver, "digest", format="json"),
        )
    normal = [alert(priority=Priority.NORMAL) for _ in range(3)]
    urgent = alert(kind=AlertKind.URGENT_RISK, priority=Priority.URGENT)
    for event in (*normal, urgent):
        await publish(stack, event)

    async def all_arrived() -> bool:
        seen = [i for h in receiver.at("digest") for i in h.alert_ids()]
        return all(e.alert_id in seen for e in (*normal, urgent))

    await eventually(all_arrived, what="the digest and the urgent alert")
    hooks = receiver.at("digest")
    singles = [h.alert_ids() for h in hooks if h.payload["type"] == "alert"]
    digested = [i for h in hooks if h.payload["type"] == "digest" for i in h.alert_ids()]
    assert urgent.alert_id in [i for ids in singles for i in ids]
    assert sorted(i for i in digested if i != urgent.alert_id) == sorted(e.alert_id for e in normal)
    assert len(hooks) < 4, "the normal alerts were not batched"
