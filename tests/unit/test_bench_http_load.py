"""The benchmark's load generator accounts for every report it planned: answered, refused, or
never sent because the server fell behind the schedule."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from tests.bench.http_load import CONNECTIONS, Load, drive

Answer = Callable[[int], tuple[int, float]]
"""Request number → (status, seconds before answering)."""


async def _request_head(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""  # the client closed its connection


@asynccontextmanager
async def server(answer: Answer) -> AsyncIterator[str]:
    count = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        while head := await _request_head(reader):
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            json.loads(await reader.readexactly(length))
            status, delay = answer(count)
            count += 1
            await asyncio.sleep(delay)
            body = json.dumps({"dispute_id": str(uuid.uuid4())}).encode()
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body
            )

    listening = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        listening.close()


async def test_a_server_that_keeps_up_answers_every_planned_report() -> None:
    load = Load(rate=400, seconds=0.5)
    async with server(lambda n: (503 if n % 10 == 0 else 202, 0.0)) as url:
        await drive(url, load)
    assert load.stopped_after_s is None
    assert (len(load.accepted_at), load.refused, load.unsent) == (180, 20, 0)


async def test_a_server_that_falls_behind_stops_the_run_and_nothing_goes_uncounted() -> None:
    load = Load(rate=1000, seconds=5)  # every connection held 1 s: at most 64 answers/s
    async with server(lambda n: (202, 1.0)) as url:
        await drive(url, load)
    assert load.stopped_after_s is not None
    assert load.stopped_after_s < 3  # two seconds of the schedule queued, not the whole run
    assert len(load.accepted_at) + load.refused + load.unsent == load.planned
    assert len(load.accepted_at) <= 4 * CONNECTIONS  # a round of answers a second, ≤ 4 s
