import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from contracts.events import AlertRaised
from contracts.vocabulary import AlertKind, Priority
from notifier import rules
from notifier.models import StreamDelivery, Subscription, SubscriptionIn

NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
VILLAGE = "hanyin-shuangru-jianghe"


def alert(**overrides: object) -> AlertRaised:
    fields: dict[str, object] = {
        "occurred_at": NOW,
        "correlation_id": "case-1",
        "alert_id": "escalation:case-1:2",
        "kind": AlertKind.ESCALATION,
        "priority": Priority.HIGH,
        "unit_id": VILLAGE,
        "case_id": "case-1",
        "title": "案件升级",
    }
    fields.update(overrides)
    return AlertRaised.model_validate(fields)


def subscription(unit_id: str, **overrides: object) -> Subscription:
    body = SubscriptionIn.model_validate(
        {"unit_id": unit_id, "delivery": {"type": "sse"}, **overrides}
    )
    return Subscription.create(body, NOW)


@pytest.mark.parametrize(
    ("unit_id", "hears"),
    [
        (VILLAGE, True),
        ("hanyin-shuangru", True),
        ("hanyin", True),
        ("hanyin-shuangru-chaba", False),
        ("hanyin-chengguan", False),
    ],
)
def test_an_alert_reaches_its_village_town_and_county_only(unit_id: str, hears: bool) -> None:
    assert rules.matches(subscription(unit_id), alert()) is hears


def test_kinds_and_minimum_priority_filter() -> None:
    rebound_only = subscription("hanyin", kinds=["rebound"])
    assert not rules.matches(rebound_only, alert())
    assert rules.matches(rebound_only, alert(kind=AlertKind.REBOUND))
    high_and_up = subscription("hanyin", min_priority="high")
    assert rules.matches(high_and_up, alert(priority=Priority.URGENT))
    assert not rules.matches(high_and_up, alert(priority=Priority.ELEVATED))


def test_urgent_priority_or_risk_skips_the_digest() -> None:
    assert rules.is_urgent(alert(priority=Priority.URGENT))
    assert rules.is_urgent(alert(kind=AlertKind.URGENT_RISK, priority=Priority.HIGH))
    assert not rules.is_urgent(alert(priority=Priority.HIGH))


def test_idempotency_key_is_stable_and_fits_a_header() -> None:
    ledger_id = rules.delivery_id("escalation:案件-1:2", "abc")
    key = rules.idempotency_key("a", ledger_id)
    assert key == rules.idempotency_key("a", ledger_id)
    assert key != rules.idempotency_key("a", rules.delivery_id("escalation:案件-1:2", "abd"))
    assert key.isascii()


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = b'{"a":1}'
    headers = rules.webhook_headers("s3cret-s3cret-s3cret", "a-key", body, NOW, attempt=2)
    timestamp = headers["X-Tiaojie-Timestamp"]
    expected = hmac.new(b"s3cret-s3cret-s3cret", f"{timestamp}.".encode() + body, hashlib.sha256)
    assert headers["X-Tiaojie-Signature"] == f"sha256={expected.hexdigest()}"
    assert headers["Idempotency-Key"] == "a-key"
    assert headers["X-Tiaojie-Attempt"] == "2"


@pytest.mark.parametrize("jitter", [0.0, 0.5, 1.0])
def test_backoff_doubles_with_jitter_and_is_capped(jitter: float) -> None:
    waits = [rules.backoff_s(n, 1.0, 10.0, lambda: jitter) for n in range(1, 7)]
    ceilings = [1, 2, 4, 8, 10, 10]
    for wait, ceiling in zip(waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_digest_windows_are_aligned_and_close_after_the_period() -> None:
    window, due = rules.digest_window(NOW + timedelta(seconds=10), 5)
    assert due == NOW + timedelta(minutes=5)
    same, _ = rules.digest_window(NOW + timedelta(minutes=4, seconds=59), 5)
    later, _ = rules.digest_window(NOW + timedelta(minutes=5), 5)
    assert same == window
    assert later == window + 1


def test_wecom_message_is_a_group_robot_markdown_message() -> None:
    payload = alert().model_dump(mode="json")
    message = json.loads(rules.wecom_body([payload], digest=False))
    assert message["msgtype"] == "markdown"
    assert "案件升级" in message["markdown"]["content"]
    assert "双乳镇江河村" in message["markdown"]["content"]
    digest = json.loads(rules.wecom_body([payload] * 200, digest=True))
    assert len(digest["markdown"]["content"].encode()) <= rules.WECOM_MAX_BYTES


def test_json_body_carries_one_alert_or_a_digest() -> None:
    payload = alert().model_dump(mode="json")
    single = json.loads(rules.json_body("a-k", "sub", [payload], digest=False))
    assert (single["type"], single["alert"]["alert_id"]) == ("alert", "escalation:case-1:2")
    batch = json.loads(rules.json_body("d-k", "sub", [payload, payload], digest=True))
    assert (batch["type"], len(batch["alerts"])) == ("digest", 2)


def test_a_webhook_secret_is_generated_when_left_out_and_hidden_from_views() -> None:
    body = SubscriptionIn.model_validate(
        {"unit_id": "hanyin", "delivery": {"type": "webhook", "url": "https://example.cn/h"}}
    )
    created = Subscription.create(body, NOW)
    assert created.delivery.type == "webhook"
    assert created.delivery.secret
    assert "secret" not in created.public()["delivery"]
    assert Subscription.from_document(created.to_document()) == created
    assert isinstance(subscription("hanyin").delivery, StreamDelivery)
