"""The webhook's target is checked where the notifier connects: on the addresses its name
resolves to at each attempt, and the POST goes to the address that was checked, so a name
that answers differently later (DNS rebinding) cannot lead it into the notifier's network."""

import ipaddress
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
import structlog

from contracts.vocabulary import AlertKind
from notifier.app import create_app
from notifier.channels import (
    DeliveryError,
    EmailSender,
    Message,
    TargetGuard,
    TargetRefusedError,
    WebhookSender,
)
from notifier.delivery import DeadLetters, Deliverer, Job
from notifier.models import Subscription, SubscriptionIn, WebhookDelivery
from notifier.settings import NotifierSettings
from notifier.store import DELIVERED, FAILED, LeasedJobs
from notifier.targets import AllowList, IPAddress
from tests.auth import as_needed

PUBLIC = "93.184.216.34"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class Answers:
    """A resolver that gives the next of its prepared answers at each lookup."""

    def __init__(self, *answers: list[str]) -> None:
        self._answers = list(answers)
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append((host, port))
        answer = self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]
        return [ipaddress.ip_address(address) for address in answer]


class Unresolvable:
    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        raise OSError(f"[Errno -2] Name or service not known: {host}")


def webhook(url: str) -> WebhookDelivery:
    return WebhookDelivery(type="webhook", url=url, secret="s" * 32)


def message() -> Message:
    alert = {"alert_id": "escalation:c1:abc", "kind": "escalation", "unit_id": "hanyin"}
    return Message(key="a-key", subscription_id="sub", alerts=(alert,), digest=False)


def sender(guard: TargetGuard, seen: list[httpx.Request]) -> WebhookSender:
    def receive(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(receive))
    return WebhookSender(client, guard, lambda: NOW)


async def test_the_post_goes_to_the_address_that_was_checked() -> None:
    seen: list[httpx.Request] = []
    resolver = Answers([PUBLIC])
    send = sender(TargetGuard(AllowList(), resolver), seen)

    await send.send(webhook("https://hooks.example.cn:8443/tiaojie?x=1"), message(), 1)

    assert resolver.asked == [("hooks.example.cn", 8443)]
    [request] = seen
    assert request.url.host == PUBLIC
    assert request.url.port == 8443
    assert request.url.path == "/tiaojie"
    assert request.headers["host"] == "hooks.example.cn:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.cn"


async def test_a_name_that_rebinds_to_loopback_is_refused_at_the_next_attempt() -> None:
    seen: list[httpx.Request] = []
    resolver = Answers([PUBLIC], ["127.0.0.1"])
    send = sender(TargetGuard(AllowList(), resolver), seen)
    delivery = webhook("http://rebind.example.cn/hook")

    await send.send(delivery, message(), 1)
    with pytest.raises(TargetRefusedError, match=r"rebind\.example\.cn resolves to 127\.0\.0\.1"):
        await send.send(delivery, message(), 2)

    assert [request.url.host for request in seen] == [PUBLIC]
    assert len(resolver.asked) == 2, "one lookup per attempt, the one that was checked"


@pytest.mark.parametrize(
    "answer",
    [["127.0.0.1"], ["10.0.0.7"], ["169.254.169.254"], ["::1"], [PUBLIC, "192.168.0.2"]],
)
async def test_a_name_with_any_inner_address_is_refused(answer: list[str]) -> None:
    seen: list[httpx.Request] = []
    send = sender(TargetGuard(AllowList(), Answers(answer)), seen)
    with pytest.raises(TargetRefusedError):
        await send.send(webhook("https://hooks.example.cn/"), message(), 1)
    assert seen == []


async def test_a_literal_inner_address_is_refused_without_a_lookup() -> None:
    seen: list[httpx.Request] = []
    resolver = Answers([PUBLIC])
    send = sender(TargetGuard(AllowList(), resolver), seen)
    with pytest.raises(TargetRefusedError, match="loopback"):
        await send.send(webhook("http://127.0.0.1:9000/"), message(), 1)
    assert resolver.asked == []
    assert seen == []


async def test_the_allow_list_lets_an_intranet_name_and_network_through() -> None:
    seen: list[httpx.Request] = []
    allow = AllowList.parse("hooks.intranet.example, 10.1.0.0/16")
    resolver = Answers(["10.9.0.4"])
    send = sender(TargetGuard(allow, resolver), seen)

    await send.send(webhook("http://hooks.intranet.example/a"), message(), 1)
    await send.send(webhook("http://10.1.2.3/b"), message(), 1)

    assert [(r.url.host, r.headers["host"]) for r in seen] == [
        ("10.9.0.4", "hooks.intranet.example"),
        ("10.1.2.3", "10.1.2.3"),
    ]


async def test_a_name_that_does_not_resolve_is_an_ordinary_failure_to_retry() -> None:
    seen: list[httpx.Request] = []
    send = sender(TargetGuard(AllowList(), Unresolvable()), seen)
    with pytest.raises(DeliveryError) as raised:
        await send.send(webhook("https://hooks.example.cn/"), message(), 1)
    assert not isinstance(raised.value, TargetRefusedError)
    assert "cannot resolve hooks.example.cn" in str(raised.value)


# ---- the deliverer gives up on a refused target at once -------------------------------------


class Jobs:
    def __init__(self) -> None:
        self.renewed: list[int] = []
        self.finished: list[tuple[str, dict[str, Any]]] = []

    async def renew(self, job_id: str, token: str, until: datetime, attempts: int) -> bool:
        self.renewed.append(attempts)
        return True

    async def finish(self, job_id: str, token: str, state: str, outcome: dict[str, Any]) -> bool:
        self.finished.append((state, outcome))
        return True


class Letters(DeadLetters):
    def __init__(self) -> None:
        self.published: list[tuple[str, int]] = []

    async def publish(self, job: Job, reason: str, attempts: int) -> None:
        self.published.append((reason, attempts))


def deliverer(url: str, resolver: Answers, letters: Letters) -> Deliverer:
    settings = NotifierSettings(delivery_attempts=5, retry_base_s=0.001, retry_max_s=0.001)
    body = SubscriptionIn(unit_id="hanyin", delivery=webhook(url), kinds=[AlertKind.ESCALATION])
    subscription = Subscription.create(body, NOW)
    seen: list[httpx.Request] = []
    return Deliverer(
        subscriptions=lambda _: subscription,
        webhook=sender(TargetGuard(AllowList(), resolver), seen),
        email=EmailSender(settings),
        dead_letters=letters,
        settings=settings,
        logger=structlog.get_logger(),
        clock=lambda: NOW,
    )


def job(jobs: Jobs) -> Job:
    return Job(jobs=cast(LeasedJobs, jobs), job_id="j", token="t", attempts=0, message=message())


async def test_a_refused_target_fails_at_the_first_attempt_with_the_reason() -> None:
    jobs, letters = Jobs(), Letters()
    await deliverer("http://rebind.example.cn/", Answers(["127.0.0.1"]), letters).deliver(job(jobs))

    assert jobs.renewed == [1], "no retries: the next attempt would be refused the same way"
    [(state, outcome)] = jobs.finished
    assert state == FAILED
    assert outcome["attempts"] == 1
    assert outcome["detail"].startswith("target refused: rebind.example.cn resolves to 127.0.0.1")
    assert letters.published == [(outcome["detail"], 1)]


async def test_a_public_target_is_delivered() -> None:
    jobs, letters = Jobs(), Letters()
    await deliverer("http://hooks.example.cn/", Answers([PUBLIC]), letters).deliver(job(jobs))
    assert [state for state, _ in jobs.finished] == [DELIVERED]
    assert letters.published == []


# ---- the subscription API refuses them before anything is stored ----------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://metadata.google.internal/",
        "http://localhost/",
        "http://user@hooks.example.cn/",
        "http://10.0.0.1/",
        "http://100.100.100.200/",
    ],
)
async def test_a_subscription_to_an_inner_target_is_refused_naming_the_url(url: str) -> None:
    transport = httpx.ASGITransport(app=create_app(NotifierSettings()))
    async with httpx.AsyncClient(
        auth=as_needed, transport=transport, base_url="http://notifier"
    ) as client:
        response = await client.post(
            "/v1/subscriptions",
            json={"unit_id": "hanyin", "delivery": {"type": "webhook", "url": url}},
        )
    assert response.status_code == 422, response.text
    [field] = response.json()["fields"]
    assert field["field"] == "delivery.webhook.url"
    assert field["code"] == "webhook_target_refused"
    assert field["message"].startswith("webhook target refused: ")
