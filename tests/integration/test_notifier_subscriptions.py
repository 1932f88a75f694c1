"""Subscriptions through the notifier's HTTP API, stored in the real database."""

import json

import httpx
import pytest

from contracts import topics
from tests.auth import as_needed
from tests.integration.conftest import Stack
from tests.integration.kafka_tools import produce
from tests.integration.notifier_support import CHALING, HANYANG, alert, subscribe, webhook_receiver
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def test_subscribe_list_read_and_unsubscribe(stack: Stack) -> None:
    url = f"{stack.urls['notifier']}/v1/subscriptions"
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        created = await subscribe(
            client,
            stack.urls["notifier"],
            unit_id=HANYANG,
            kinds=["escalation", "rebound"],
            min_priority="high",
            name="汉阳镇政法委 督办",
            delivery={"type": "webhook", "url": "https://hooks.example.cn/hanyang"},
        )
        sid = created["subscription_id"]
        assert len(created["secret"]) >= 32, "a secret is generated and shown once"
        read = (await client.get(f"{url}/{sid}")).json()
        assert "secret" not in read["delivery"]
        assert (read["unit_id"], read["kinds"], read["min_priority"]) == (
            HANYANG,
            ["escalation", "rebound"],
            "high",
        )
        covering = (await client.get(url, params={"unit_id": CHALING})).json()
        assert sid in [item["subscription_id"] for item in covering]
        elsewhere = (await client.get(url, params={"unit_id": "hanyin-puxi"})).json()
        assert sid not in [item["subscription_id"] for item in elsewhere]
        assert (await client.delete(f"{url}/{sid}")).status_code == 204
        assert (await client.get(f"{url}/{sid}")).status_code == 404
        assert (await client.delete(f"{url}/{sid}")).status_code == 404
        unknown = await client.get(
            f"{stack.urls['notifier']}/v1/alerts/stream?subscription_id={sid}"
        )
        assert unknown.status_code == 404


async def test_wecom_format_posts_a_group_robot_markdown_message(stack: Stack) -> None:
    with webhook_receiver() as receiver:
        async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
            created = await subscribe(
                client,
                stack.urls["notifier"],
                unit_id=CHALING,
                delivery={"type": "webhook", "url": receiver.url("wecom"), "format": "wecom"},
            )
            event = alert()
            await produce(
                stack.infra.kafka,
                topics.ALERTS,
                event.model_dump_json().encode(),
                event.correlation_id.encode(),
            )

            async def received() -> bool:
                wanted = f"案件 case: {event.case_id}"
                return any(wanted in h.body.decode() for h in receiver.at("wecom"))

            await eventually(received, what="the group-robot message")
            url = f"{stack.urls['notifier']}/v1/subscriptions/{created['subscription_id']}"
            await client.delete(url)
    bodies = [h.body.decode() for h in receiver.at("wecom")]
    message = json.loads(next(b for b in bodies if f"案件 case: {event.case_id}" in b))
    assert message["msgtype"] == "markdown"
    assert event.title in message["markdown"]["content"]
    assert "汉阳镇" in message["markdown"]["content"]
