"""What a supervisor's side looks like in the notifier tests: a webhook receiver that checks
signatures and dedupes by idempotency key, an SMTP server, and a live-stream reader."""

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from contracts.events import AlertRaised
from contracts.vocabulary import AlertKind, Priority, Tier
from tests.auth import as_needed

HANYANG = "hanyin-hanyang"
"""A town other test suites leave alone, so the alerts its supervisors get are ours."""
CHALING = "hanyin-hanyang-chaling"
SECRET = "test-webhook-secret-0123456789"


def alert(
    *,
    kind: AlertKind = AlertKind.ESCALATION,
    priority: Priority = Priority.HIGH,
    unit_id: str = CHALING,
    case_id: str | None = None,
) -> AlertRaised:
    case_id = case_id or str(uuid.uuid4())
    return AlertRaised(
        occurred_at=datetime.now(UTC),
        correlation_id=case_id,
        alert_id=f"{kind.value}:{case_id}:{uuid.uuid4().hex[:6]}",
        kind=kind,
        priority=priority,
        unit_id=unit_id,
        case_id=case_id,
        tier=Tier.TOWN,
        title="案件升级至汉阳镇矛调中心：邻里纠纷",
        details={"from_tier": "village", "to_tier": "town"},
    )


@dataclass
class Hook:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int

    @property
    def key(self) -> str:
        return self.headers["idempotency-key"]

    @property
    def payload(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.body)
        return result

    def alert_ids(self) -> list[str]:
        payload = self.payload
        alerts = payload["alerts"] if payload["type"] == "digest" else [payload["alert"]]
        return [item["alert_id"] for item in alerts]


@dataclass
class Receiver:
    """A supervisor's webhook endpoint on loopback. Per path it can fail a number of times, or
    hold requests until released, and it processes each idempotency key once."""

    port: int = 0
    host: str = "127.0.0.1"
    hooks: list[Hook] = field(default_factory=list)
    processed: dict[str, bytes] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    hold: dict[str, threading.Event] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    held_answer: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}/{path}"

    def at(self, path: str) -> list[Hook]:
        return [hook for hook in list(self.hooks) if hook.path == f"/{path}"]

    def answer(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if (gate := self.hold.get(path)) is not None:
            self.held[path] = self.held.get(path, 0) + 1
            gate.wait(timeout=60)
            status = self.held_answer.get(path, 200)
            self.hold.pop(path, None)
        elif self.failures.get(path, 0) > 0:
            self.failures[path] -= 1
            status = 500
        else:
            status = 200
        if status == 200:
            self.processed.setdefault(headers["idempotency-key"], body)
        return status


def verify(headers: dict[str, str], body: bytes, secret: str = SECRET) -> bool:
    timestamp = headers.get("x-tiaojie-timestamp", "0")
    fresh = abs(time.time() - int(timestamp)) < 300
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return fresh and hmac.compare_digest(
        f"sha256={expected.hexdigest()}", headers.get("x-tiaojie-signature", "")
    )


@contextmanager
def webhook_receiver(host: str = "127.0.0.1") -> Iterator[Receiver]:
    """A receiver listening on `host`: loopback unless a test needs another address."""
    receiver = Receiver(host=host)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            path = self.path.lstrip("/")
            status = receiver.answer(path, body, headers)
            receiver.hooks.append(Hook(self.path, headers, body, verify(headers, body), status))
            with suppress(OSError):  # the sender may have died while we held the request
                self.send_response(status)
                self.end_headers()

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer((host, 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        for gate in receiver.hold.values():
            gate.set()
        server.shutdown()
        server.server_close()


class Mailbox:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def with_key(self, key: str) -> list[Message]:
        return [m for m in self.messages if m["X-Tiaojie-Idempotency-Key"] == key]

    def mentioning(self, text: str) -> list[Message]:
        return [m for m in self.messages if text in body_text(m)]


def body_text(message: Message) -> str:
    payload = message.get_payload(decode=True)
    return payload.decode() if isinstance(payload, bytes) else ""


@contextmanager
def smtp_server(port: int) -> Iterator[Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@dataclass
class StreamReader:
    """Reads a live alert stream in the background: (event id, alert) pairs."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    """Where the stream could not start, from its `gap` events."""

    async def read(self, url: str, last_event_id: str | None = None) -> None:
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        async with (
            httpx.AsyncClient(auth=as_needed, timeout=httpx.Timeout(10, read=None)) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            response.raise_for_status()
            event_id, kind, data = "", "", ""
            async for line in response.aiter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif not line and data:
                    if kind == "gap":
                        self.gaps.append(json.loads(data)["asked_for"])
                    else:
                        self.events.append((event_id, json.loads(data)))
                    event_id, kind, data = "", "", ""

    def alert_ids(self) -> list[str]:
        return [item["alert_id"] for _, item in self.events]


@contextmanager
def reading(url: str, last_event_id: str | None = None) -> Iterator[StreamReader]:
    reader = StreamReader()
    task = asyncio.get_running_loop().create_task(reader.read(url, last_event_id))
    try:
        yield reader
    finally:
        task.cancel()


async def subscribe(client: httpx.AsyncClient, base_url: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{base_url}/v1/subscriptions", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
