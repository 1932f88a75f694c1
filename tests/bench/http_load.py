"""An open-loop load generator lean enough to share two cores with what it measures.

Reports are sent on a fixed schedule (a slow answer never delays the next send) over a pool of
keep-alive HTTP/1.1 connections, written as pre-encoded bytes and read back with nothing but a
status line, headers and a Content-Length body: a general HTTP client spent about half a core
here at a few hundred requests/s, which the services then lacked.

A rate the system cannot take shows as a growing queue of reports waiting for a free
connection; once that queue holds more than `MAX_BACKLOG_S` of the schedule, the rate is not
held and the run stops early instead of queueing for minutes.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from contracts.registry import hanyin
from services.auth import Role
from tests.auth import token
from tests.factories import hotline_body

CONNECTIONS = 64
MAX_BACKLOG_S = 2.0
PATH = "/v1/disputes"


@dataclass
class Load:
    """One open-loop run: what was planned and sent, and each 202 with its dispute id."""

    rate: float
    seconds: float
    accepted_at: dict[str, float] = field(default_factory=dict)
    visible_at: dict[str, float] = field(default_factory=dict)
    answer_ms: list[float] = field(default_factory=list)
    """From each request sent to its answer read: the intake's response time."""
    late_sends: int = 0
    refused: int = 0
    unsent: int = 0
    stopped_after_s: float | None = None
    """Set when the backlog outgrew `MAX_BACKLOG_S`: the rate was not held."""
    sending_s: float = 0.0
    cpu_ms_per_report: dict[str, float] = field(default_factory=dict)
    """CPU time each process spent over the run, per accepted report."""

    @property
    def planned(self) -> int:
        return int(self.rate * self.seconds)

    def latencies_ms(self) -> list[float]:
        """From the 202 to the case in its unit's queue; 0 where the case was there first."""
        return [
            max(self.visible_at[i] - at, 0.0) * 1000
            for i, at in self.accepted_at.items()
            if i in self.visible_at
        ]


def county_villages() -> list[str]:
    return sorted(unit.id for unit in hanyin().units.values() if unit.kind == "village")


def report(number: int, villages: list[str]) -> dict[str, Any]:
    """A distinct hotline report: its own caller, spread over the county's villages."""
    village = villages[number % len(villages)]
    body = hotline_body(village_id=village, description=f"bench #{number}: 排水沟堵塞")
    body["parties"][0].update(village_id=village, phone=f"139{number:08d}")
    return body


class Requests:
    """Pre-encoded POSTs of `report` bodies, with one submitter token for the whole run."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._head = (
            f"POST {PATH} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {token(Role.OPERATOR)}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self._villages = county_villages()

    def encoded(self, number: int) -> bytes:
        body = json.dumps(report(number, self._villages), ensure_ascii=False).encode()
        return self._head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


class Worker:
    """One keep-alive connection taking reports off the queue until it reads None."""

    def __init__(self, requests: Requests, queue: asyncio.Queue[bytes | None], load: Load) -> None:
        self._requests, self._queue, self._load = requests, queue, load
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def run(self) -> None:
        while (request := await self._queue.get()) is not None:
            sent = time.time()
            try:
                status, body = await self._send(request)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                self._load.refused += 1
                await self._close()  # a broken connection is opened again for the next one
                continue
            answered = time.time()
            self._load.answer_ms.append((answered - sent) * 1000)
            if status == 202:
                self._load.accepted_at[json.loads(body)["dispute_id"]] = answered
            else:
                self._load.refused += 1
        await self._close()

    async def _send(self, request: bytes) -> tuple[int, bytes]:
        if self._stream is None:
            self._stream = await asyncio.open_connection(self._requests.host, self._requests.port)
        reader, writer = self._stream
        writer.write(request)
        return await _answer(reader)

    async def _close(self) -> None:
        if self._stream is not None:
            writer = self._stream[1]
            self._stream = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def drive(base_url: str, load: Load, clock: Callable[[], float] = time.monotonic) -> None:
    requests = Requests(base_url)
    encoded = [requests.encoded(number) for number in range(load.planned)]
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    workers = [asyncio.create_task(Worker(requests, queue, load).run()) for _ in range(CONNECTIONS)]
    start = clock()
    for number, request in enumerate(encoded):
        wait = start + number / load.rate - clock()
        if wait < -0.01:
            load.late_sends += 1
        await asyncio.sleep(max(wait, 0))
        if queue.qsize() > load.rate * MAX_BACKLOG_S:
            load.stopped_after_s = clock() - start
            load.unsent = len(encoded) - number
            break
        queue.put_nowait(request)
    while load.stopped_after_s is not None and not queue.empty():  # never sent: dropped
        queue.get_nowait()
        load.unsent += 1
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    load.sending_s = clock() - start
