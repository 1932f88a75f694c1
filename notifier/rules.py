"""Pure decisions of the notifier: who hears of an alert, when, and in what words and shape."""

import hashlib
import hmac
import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.events import AlertRaised
from contracts.registry import in_force
from contracts.vocabulary import AlertKind, Priority
from notifier.models import Subscription

KIND_NAMES = {
    AlertKind.ESCALATION: "案件升级",
    AlertKind.DEADLINE_BREACH: "办理超期",
    AlertKind.URGENT_RISK: "紧急风险",
    AlertKind.UNIT_SATURATED: "调解力量饱和",
    AlertKind.REBOUND: "纠纷反弹",
}
PRIORITY_NAMES = {
    Priority.NORMAL: "一般",
    Priority.ELEVATED: "较高",
    Priority.HIGH: "高",
    Priority.URGENT: "紧急",
}
WECOM_MAX_BYTES = 4096  # the group robot refuses longer markdown content


def matches(subscription: Subscription, alert: AlertRaised) -> bool:
    """An alert reaches the supervisors of its unit and of every unit above it."""
    return (
        in_force().is_within(alert.unit_id, subscription.unit_id)
        and alert.kind in subscription.kinds
        and alert.priority.rank >= subscription.min_priority.rank
    )


def is_urgent(alert: AlertRaised) -> bool:
    """Urgent alerts skip the digest and go at once."""
    return alert.priority is Priority.URGENT or alert.kind is AlertKind.URGENT_RISK


def delivery_id(alert_id: str, subscription_id: str) -> str:
    """Key of the delivery ledger: one delivery per (alert, subscription), ever."""
    return f"{alert_id}|{subscription_id}"


def idempotency_key(prefix: str, ledger_id: str) -> str:
    """Stable across attempts, resumptions and restarts; ASCII so it fits an HTTP header."""
    return f"{prefix}-{hashlib.sha256(ledger_id.encode()).hexdigest()[:40]}"


def digest_window(now: datetime, minutes: float) -> tuple[int, datetime]:
    """The digest window `now` falls in, and when it closes (windows are aligned to the epoch,
    so every instance agrees on them)."""
    period = minutes * 60
    index = math.floor(now.timestamp() / period)
    return index, datetime.fromtimestamp((index + 1) * period, UTC)


def backoff_s(attempt: int, base_s: float, max_s: float, random: Callable[[], float]) -> float:
    """Wait after failed attempt `attempt` (1-based): exponential, capped, with equal jitter so
    receivers that failed together do not get retried together."""
    ceiling = min(max_s, base_s * 2.0 ** (attempt - 1))
    return ceiling / 2 + random() * ceiling / 2


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex, prefixed with the scheme."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def webhook_headers(
    secret: str, key: str, body: bytes, now: datetime, attempt: int
) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "tiaojie-notifier/1",
        "Idempotency-Key": key,
        "X-Tiaojie-Timestamp": str(timestamp),
        "X-Tiaojie-Signature": signature(secret, timestamp, body),
        "X-Tiaojie-Attempt": str(attempt),
    }


def unit_name(unit_id: str) -> str:
    """Town and village names as people say them, e.g. 双乳镇江河村."""
    registry = in_force()
    names = [
        unit.name
        for unit_id_above in reversed(registry.ancestors(unit_id))
        if (unit := registry.unit(unit_id_above)) is not None and unit.kind != "county"
    ]
    county = registry.unit(unit_id)
    return "".join(names) or (county.name if county else unit_id)


def describe(alert: dict[str, Any]) -> list[str]:
    """Lines a person reads, Chinese first."""
    kind = AlertKind(alert["kind"])
    priority = Priority(alert["priority"])
    lines = [
        f"类型 kind: {KIND_NAMES[kind]} ({kind.value})",
        f"地点 unit: {unit_name(alert['unit_id'])} ({alert['unit_id']})",
        f"优先级 priority: {PRIORITY_NAMES[priority]} ({priority.value})",
    ]
    if alert.get("case_id"):
        lines.append(f"案件 case: {alert['case_id']}")
    if alert.get("tier"):
        lines.append(f"层级 tier: {alert['tier']}")
    lines.append(f"时间 at: {alert['occurred_at']}")
    return lines


def json_body(
    key: str, subscription_id: str, alerts: Sequence[dict[str, Any]], digest: bool
) -> bytes:
    """The json format: one alert, or a digest of several, with the idempotency key inside too."""
    payload: dict[str, Any] = {
        "idempotency_key": key,
        "subscription_id": subscription_id,
        "type": "digest" if digest else "alert",
    }
    if digest:
        payload["alerts"] = list(alerts)
    else:
        payload["alert"] = alerts[0]
    return _dump(payload)


def wecom_body(alerts: Sequence[dict[str, Any]], digest: bool) -> bytes:
    """A WeChat Work group-robot markdown message."""
    if digest:
        header = f"**督办提醒汇总：{len(alerts)} 条**"
        blocks = [
            f"{i}. {alert['title']}\n> " + "\n> ".join(describe(alert))
            for i, alert in enumerate(alerts, 1)
        ]
    else:
        header = f"**督办提醒：{alerts[0]['title']}**"
        blocks = ["> " + "\n> ".join(describe(alerts[0]))]
    content = "\n".join([header, *blocks])
    encoded = content.encode()
    if len(encoded) > WECOM_MAX_BYTES:
        content = encoded[: WECOM_MAX_BYTES - 8].decode(errors="ignore") + "\n……"
    return _dump({"msgtype": "markdown", "markdown": {"content": content}})


def email_text(alerts: Sequence[dict[str, Any]], digest: bool) -> tuple[str, str]:
    """Subject and plain-text body."""
    if digest:
        subject = f"[tiaojie] 督办提醒汇总 {len(alerts)} 条"
    else:
        subject = f"[tiaojie] {alerts[0]['title']}"
    sections = [
        "\n".join([alert["title"], *describe(alert), f"alert_id: {alert['alert_id']}"])
        for alert in alerts
    ]
    return subject, "\n\n".join(sections) + "\n"


def lease_until(now: datetime, lease_s: float) -> datetime:
    return now + timedelta(seconds=lease_s)


def _dump(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
