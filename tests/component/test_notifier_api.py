"""Refused subscriptions name the field at fault (no database is touched before validation)."""

from typing import Any

import httpx
import pytest

from notifier.app import create_app
from notifier.settings import NotifierSettings
from tests.auth import as_needed

GOOD: dict[str, Any] = {
    "unit_id": "hanyin-shuangru",
    "kinds": ["escalation"],
    "delivery": {"type": "webhook", "url": "https://hooks.example.cn/tiaojie"},
}


async def post(body: dict[str, Any]) -> httpx.Response:
    app = create_app(NotifierSettings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        auth=as_needed, transport=transport, base_url="http://notifier"
    ) as client:
        return await client.post("/v1/subscriptions", json=body)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"delivery": {"type": "webhook", "url": "ftp://hooks.example.cn/x"}},
            "delivery.webhook.url",
        ),
        ({"delivery": {"type": "webhook", "url": "not a url"}}, "delivery.webhook.url"),
        ({"unit_id": "hanyin-atlantis"}, "unit_id"),
        ({"unit_id": "Hanyin!"}, "unit_id"),
        ({"kinds": ["earthquake"]}, "kinds.0"),
        ({"kinds": []}, "kinds"),
        ({"min_priority": "meh"}, "min_priority"),
        ({"delivery": {"type": "email", "to": ["not-an-address"]}}, "delivery.email.to.0"),
        ({"delivery": {"type": "pigeon"}}, "delivery"),
        (
            {"delivery": {"type": "webhook", "url": "https://x.cn", "secret": "short"}},
            "delivery.webhook.secret",
        ),
        ({"digest_minutes": 0}, "digest_minutes"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_subscription_is_refused_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    response = await post({**GOOD, **change})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    assert field in [item["field"] for item in body["fields"]]


async def test_a_digest_on_a_live_stream_is_refused() -> None:
    response = await post({**GOOD, "delivery": {"type": "sse"}, "digest_minutes": 5})
    assert response.status_code == 422
    assert "digest_minutes" in response.json()["fields"][0]["message"]
