"""How the services are deployed, on real service processes: in production (the default) they
refuse to start on development or short secrets; every HTTP server bounds request headers and
slow requests; the notifier bounds the live streams one token, and the process, may hold."""

import asyncio
import base64
import json
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from router.policy import DEFAULT_POLICY_PATH
from services.auth import Role
from services.broker import ensure_topics
from services.launcher import SERVICES, is_healthy, spawn, wait_healthy
from tests.auth import TEST_AUTH_KEYS, fresh_token
from tests.integration.conftest import (
    NOTIFIER_TEST_ENV,
    Infra,
    _drop_database,
    _stack_env,
    free_port,
)
from tests.integration.notifier_support import HANYANG
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SECRET_VARIABLES = ("AUTH_KEYS", "SEALING_KEYS", "IDENTIFIER_SALT", "INTAKE_WECHAT_SECRET")
PRODUCTION_SECRETS = {
    "TIAOJIE_ENV": "production",
    "AUTH_KEYS": TEST_AUTH_KEYS,  # so the tests' tokens are accepted
    "SEALING_KEYS": f"prod1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
    "IDENTIFIER_SALT": secrets.token_urlsafe(32),
    "INTAKE_WECHAT_SECRET": secrets.token_urlsafe(32),
}
DEVELOPMENT_DEFAULTS: dict[str, str | None] = {
    # Nothing said: no TIAOJIE_ENV (so production) and none of the secrets (so the defaults).
    "TIAOJIE_ENV": None,
    **dict.fromkeys(SECRET_VARIABLES),
}
REQUEST_TIMEOUT_S = 1.5
STREAMS_PER_TOKEN = 3
STREAMS_PER_PROCESS = 5


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").split(":")
        return host, int(port)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@asynccontextmanager
async def service_process(
    infra: Infra, name: str, overrides: Mapping[str, str | None]
) -> AsyncIterator[Service]:
    """One service as a real process on a free port over a database of its own, started with
    the integration stack's environment changed by `overrides` (None removes a variable)."""
    run_id = uuid.uuid4().hex[:12]
    database = f"test_{run_id}"
    log_dir = Path(tempfile.mkdtemp(prefix="tiaojie-deployment-"))
    policy = log_dir / "policy.yaml"
    shutil.copyfile(DEFAULT_POLICY_PATH, policy)
    env = _stack_env(infra, run_id, database, policy)
    port = free_port()
    env.update(NOTIFIER_TEST_ENV, NOTIFIER_SMTP_PORT=str(free_port()))
    env.update({f"{name.upper()}_PORT": str(port), f"{name.upper()}_GROUP_ID": f"{name}-{run_id}"})
    for variable, value in overrides.items():
        if value is None:
            env.pop(variable, None)
        else:
            env[variable] = value
    log = log_dir / f"{name}.log"
    with log.open("ab") as sink:
        process = spawn(name, env, sink)
    try:
        yield Service(process, f"http://127.0.0.1:{port}", log)
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 15)
        except subprocess.TimeoutExpired:
            process.kill()
        await _drop_database(infra.mongodb_uri, database)


async def start_outcome(service: Service) -> str:
    """Whether the process exited or came up healthy, whichever happens first."""

    async def settled() -> str | None:
        if service.process.poll() is not None:
            return "exited"
        return "healthy" if await asyncio.to_thread(is_healthy, service.url) else None

    return await eventually(settled, timeout_s=60, what=f"{service.url} to exit or be healthy")


# --- secrets -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SERVICES))
async def test_a_service_told_nothing_refuses_the_development_secrets(
    infra: Infra, name: str
) -> None:
    async with service_process(infra, name, DEVELOPMENT_DEFAULTS) as service:
        assert await start_outcome(service) == "exited", service.output()
        assert service.process.returncode != 0
        output = service.output()
    assert f"{name}: refusing to start in production" in output
    assert "AUTH_KEYS key 'dev1' is the development value published in the code" in output
    if name == "intake":
        for named in ("SEALING_KEYS key 'dev1'", "IDENTIFIER_SALT", "INTAKE_WECHAT_SECRET"):
            assert f"{named} is the development value published in the code" in output
    assert "Application startup" not in output, "nothing was served"


async def test_production_refuses_short_secrets_naming_each(infra: Infra) -> None:
    short = {**PRODUCTION_SECRETS, "AUTH_KEYS": "k1:too-short", "INTAKE_WECHAT_SECRET": "short"}
    async with service_process(infra, "intake", short) as service:
        assert await start_outcome(service) == "exited", service.output()
        assert service.process.returncode != 0
        output = service.output()
    assert "AUTH_KEYS key 'k1' is 9 bytes; at least 32 are required" in output
    assert "INTAKE_WECHAT_SECRET is 5 bytes; at least 32 are required" in output
    assert "SEALING_KEYS key" not in output
    assert "IDENTIFIER_SALT is" not in output


async def test_production_with_secrets_of_its_own_starts_healthy(infra: Infra) -> None:
    await ensure_topics(infra.kafka)
    async with service_process(infra, "intake", PRODUCTION_SECRETS) as service:
        assert await start_outcome(service) == "healthy", service.output()
        assert "refusing" not in service.output()
        assert "development" not in service.output()


# --- HTTP bounds and live streams, on one production notifier -------------------------------


@pytest.fixture(scope="module")
async def notifier(infra: Infra) -> AsyncIterator[Service]:
    await ensure_topics(infra.kafka)
    settings = {
        **PRODUCTION_SECRETS,
        "NOTIFIER_HTTP_REQUEST_TIMEOUT_S": str(REQUEST_TIMEOUT_S),
        "NOTIFIER_STREAM_MAX_PER_TOKEN": str(STREAMS_PER_TOKEN),
        "NOTIFIER_STREAM_MAX_PER_PROCESS": str(STREAMS_PER_PROCESS),
        "NOTIFIER_STREAM_RETRY_AFTER_S": "9",
    }
    async with service_process(infra, "notifier", settings) as service:
        await asyncio.to_thread(wait_healthy, service.url, service.process)
        yield service


def read_until_closed(connection: socket.socket) -> bytes:
    received = bytearray()
    while chunk := connection.recv(65536):
        received.extend(chunk)
    return bytes(received)


def refusal(answer: bytes) -> tuple[str, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), json.loads(body)


def test_oversized_headers_are_refused_with_431_and_the_service_stays_healthy(
    notifier: Service,
) -> None:
    big_header = b"X-Padding: " + b"a" * (1024 * 1024) + b"\r\n"
    with socket.create_connection(notifier.address, timeout=10) as connection:
        try:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: notifier\r\n" + big_header)
            connection.sendall(b"\r\n")
        except OSError:
            pass  # the server may stop reading once it has refused: the answer is still there
        answer = read_until_closed(connection)
    status, body = refusal(answer)
    assert status == "HTTP/1.1 431 Request Header Fields Too Large"
    assert body["error"] == "headers_too_large"
    assert body["params"] == {"max_bytes": 8192}
    assert is_healthy(notifier.url)


def test_headers_under_the_cap_are_served(notifier: Service) -> None:
    with socket.create_connection(notifier.address, timeout=10) as connection:
        padding = b"X-Padding: " + b"a" * 6000 + b"\r\n"
        request = b"GET /healthz HTTP/1.1\r\nHost: notifier\r\nConnection: close\r\n"
        connection.sendall(request + padding + b"\r\n")
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(
    ("half_a_request", "answer_starts"),
    [
        (b"", b"HTTP/1.1 408 "),  # connected, then nothing
        (b"GET /healthz HTTP/1.1\r\nHost: notifier\r\nX-Slow: a", b"HTTP/1.1 408 "),  # slowloris
        (
            b"POST /v1/subscriptions HTTP/1.1\r\nHost: notifier\r\nContent-Type: application/json"
            b'\r\nContent-Length: 200\r\n\r\n{"unit_id": ',
            b"",  # stalled in its body: the connection is closed under the app
        ),
    ],
    ids=["idle", "half-headers", "half-body"],
)
def test_a_stalled_request_is_closed_within_the_timeout(
    notifier: Service, half_a_request: bytes, answer_starts: bytes
) -> None:
    with socket.create_connection(notifier.address, timeout=REQUEST_TIMEOUT_S + 10) as connection:
        started = time.monotonic()
        connection.sendall(half_a_request)
        answer = read_until_closed(connection)  # returns when the server closes, or times out
        elapsed = time.monotonic() - started
    assert answer.startswith(answer_starts)
    if answer_starts:
        assert refusal(answer)[1]["error"] == "request_timeout"
    assert elapsed < REQUEST_TIMEOUT_S + 3  # the timeout, then the answer's short linger
    assert is_healthy(notifier.url)


@pytest.fixture
async def streams(notifier: Service) -> AsyncIterator["Streams"]:
    async with httpx.AsyncClient(base_url=notifier.url, timeout=10) as client:
        opened = Streams(client)
        try:
            yield opened
        finally:
            await opened.close_all()


@dataclass
class Streams:
    client: httpx.AsyncClient
    subscription_id: str = ""

    def __post_init__(self) -> None:
        self.held: list[httpx.Response] = []
        self._lines: list[AsyncIterator[str]] = []
        """Kept while their stream is: a line iterator dropped closes its connection."""

    async def subscribe(self, token: str) -> None:
        body = {"unit_id": HANYANG, "delivery": {"type": "sse"}, "name": "stream caps"}
        response = await self.client.post("/v1/subscriptions", json=body, headers=bearer(token))
        assert response.status_code == 201, response.text
        self.subscription_id = response.json()["subscription_id"]

    async def open(self, token: str) -> httpx.Response:
        """A stream kept open when it was granted; a refusal read and closed."""
        request = self.client.build_request(
            "GET",
            "/v1/alerts/stream",
            params={"subscription_id": self.subscription_id},
            headers=bearer(token),
        )
        response = await self.client.send(request, stream=True)
        if response.status_code == 200:
            self.held.append(response)
            lines = response.aiter_lines()
            self._lines.append(lines)
            assert await anext(lines) == "retry: 3000"
        else:
            await response.aread()
            await response.aclose()
        return response

    async def close(self, response: httpx.Response) -> None:
        self.held.remove(response)
        await response.aclose()

    async def close_all(self) -> None:
        for response in list(self.held):
            await self.close(response)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_too_many_streams(response: httpx.Response, scope: str, limit: int) -> None:
    assert response.status_code == 429, f"a stream past the cap got {response.status_code}"
    assert response.headers["Retry-After"] == "9"
    body = response.json()
    assert body["error"] == "too_many_streams"
    assert body["params"] == {"limit": limit, "scope": scope, "retry_after_s": 9}
    assert f"holds {limit}" in body["detail"]


async def test_live_streams_are_capped_per_token_and_per_process(streams: Streams) -> None:
    first, second, third = (fresh_token(Role.ADMIN, "hanyin", f"streams-{n}") for n in range(3))
    await streams.subscribe(first)
    granted = [await streams.open(first) for _ in range(STREAMS_PER_TOKEN)]
    assert [response.status_code for response in granted] == [200] * STREAMS_PER_TOKEN
    assert_too_many_streams(await streams.open(first), "per_token", STREAMS_PER_TOKEN)

    others = STREAMS_PER_PROCESS - STREAMS_PER_TOKEN
    assert [(await streams.open(second)).status_code for _ in range(others)] == [200] * others
    assert_too_many_streams(await streams.open(third), "per_process", STREAMS_PER_PROCESS)

    await streams.close(granted[0])

    async def reopened() -> bool:
        return (await streams.open(first)).status_code == 200

    await eventually(reopened, timeout_s=10, what="the closed stream's slot to be free again")
    assert_too_many_streams(await streams.open(first), "per_token", STREAMS_PER_TOKEN)


async def test_closed_streams_give_back_every_slot(streams: Streams) -> None:
    token = fresh_token(Role.ADMIN, "hanyin", "streams-cycle")
    await streams.subscribe(token)
    for _ in range(3):  # more streams in all than the cap, never more than it at once
        for _ in range(STREAMS_PER_TOKEN):
            opened = await eventually(
                lambda: _granted(streams, token), timeout_s=10, what="a free slot"
            )
            assert opened.status_code == 200
        assert_too_many_streams(await streams.open(token), "per_token", STREAMS_PER_TOKEN)
        await streams.close_all()


async def _granted(streams: Streams, token: str) -> httpx.Response | None:
    response = await streams.open(token)
    return response if response.status_code == 200 else None
