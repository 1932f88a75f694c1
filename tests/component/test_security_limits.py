"""Abuse limits, without the servers: per-token submission rate at intake, body size on every
service, and tokens signed under a rotated-out key."""

import uuid
from typing import Any

import httpx
from faststream.kafka import TestKafkaBroker

from mediation.app import create_app as mediation_app
from mediation.settings import MediationSettings
from services.auth import Role
from tests.auth import fresh_token, headers
from tests.component.intake_helpers import intake_app
from tests.factories import hotline_body
from tests.fakes import InMemoryCaseStore, InMemoryMetricsStore


async def test_a_token_over_its_submission_rate_gets_429_with_retry_after() -> None:
    app, _ = intake_app(submit_rate_per_s=0.01, submit_burst=2)
    flooder = headers(Role.OPERATOR, "hanyin", f"flood-{uuid.uuid4().hex[:6]}")
    other = headers(Role.OPERATOR, "hanyin", f"calm-{uuid.uuid4().hex[:6]}")
    async with TestKafkaBroker(app.state.broker):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            answers = [
                await client.post("/v1/disputes", json=hotline_body(), headers=flooder)
                for _ in range(3)
            ]
            calm = await client.post("/v1/disputes", json=hotline_body(), headers=other)
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert int(answers[2].headers["retry-after"]) >= 1
    assert calm.status_code == 202


async def test_every_service_refuses_an_oversized_body_with_413() -> None:
    app = mediation_app(
        MediationSettings(), store=InMemoryCaseStore(), metrics=InMemoryMetricsStore(), sweep=False
    )
    big = b'{"mediator_id": "' + b"x" * (70 * 1024) + b'"}'
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mediation") as client:
        declared = await client.post(
            "/v1/cases/c1/accept", content=big, headers=headers(Role.ADMIN)
        )

        async def chunks() -> Any:
            for _ in range(70):
                yield b"x" * 1024

        streamed = await client.post(
            "/v1/cases/c1/accept", content=chunks(), headers=headers(Role.ADMIN)
        )
    assert declared.status_code == 413
    assert streamed.status_code == 413


async def test_a_key_dropped_from_auth_keys_no_longer_verifies() -> None:
    app = mediation_app(
        MediationSettings(), store=InMemoryCaseStore(), metrics=InMemoryMetricsStore(), sweep=False
    )
    old_key_only = "test0:tiaojie-test-signing-key-zero-0123456789"
    retired = fresh_token(Role.ADMIN, "hanyin", "admin-1", keys=old_key_only)
    still_listed = fresh_token(
        Role.ADMIN, "hanyin", "admin-1", keys="test1:tiaojie-test-signing-key-one-0123456789"
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mediation") as client:
        refused = await client.get("/v1/cases/c1", headers={"Authorization": f"Bearer {retired}"})
        verified = await client.get(
            "/v1/cases/c1", headers={"Authorization": f"Bearer {still_listed}"}
        )
    assert refused.status_code == 401
    assert "unknown key id" in refused.json()["detail"]
    assert verified.status_code == 404  # past authentication: there is no such case
