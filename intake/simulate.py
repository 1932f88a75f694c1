"""Send realistic disputes for the Hanyin sample to a running intake, over HTTP, through every
channel and Open311, with a few bad inputs mixed in:

    python -m intake.simulate --rate 20 --duration 60 [--base-url http://127.0.0.1:8081]
                              [--ids-file acknowledged.txt] [--seed 7] [--bad-share 0.05]

Prints a JSON summary (sent / accepted / recorded / refused / failed, per channel) and, with
--ids-file, writes the id of every dispute intake acknowledged, one per line. Exits 1 when a
good report was refused, a bad one accepted, or any request failed.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from contracts.registry import hanyin
from intake.api import TRACKING_NUMBER
from intake.samples import Sample, Samples
from intake.settings import IntakeSettings
from services.auth import AuthSettings, Role, issue_token

MAX_IN_FLIGHT = 200
ROLE_OF_PATH = {
    "/v1/disputes": Role.OPERATOR,
    "/v1/channels/grid/reports": Role.GRID_WORKER,
    "/v1/channels/petitions": Role.PETITION_AGENT,
    "/open311/v2/requests.json": Role.OPERATOR,
}


class Credentials(httpx.Auth):
    """Each channel's own credentials: a token of its role (`api_key` for Open311), the bot's
    signature for WeChat, an admin's token to read statuses back. Keys from AUTH_KEYS."""

    requires_request_body = True

    def __init__(self) -> None:
        auth = AuthSettings()
        self._tokens = {
            role: issue_token(auth, subject=f"simulator-{role.value}", role=role, unit_id="hanyin")
            for role in (*ROLE_OF_PATH.values(), Role.ADMIN)
        }
        self._secret = IntakeSettings().wechat_secret.encode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        path = request.url.path
        token = self._tokens[ROLE_OF_PATH.get(path, Role.ADMIN)]
        if path == "/v1/channels/wechat/messages":
            digest = hmac.new(self._secret, request.content, hashlib.sha256).hexdigest()
            request.headers["X-Tiaojie-Signature"] = f"sha256={digest}"
        elif path.startswith("/open311/"):
            request.url = request.url.copy_merge_params({"api_key": token})
        else:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    per_channel: Counter[str] = field(default_factory=Counter)
    acknowledged: list[str] = field(default_factory=list)
    surprises: list[str] = field(default_factory=list)

    def record(self, sample: Sample, status: int | None, body: object) -> None:
        self.counts["sent"] += 1
        outcome = _outcome(status)
        self.counts[outcome] += 1
        self.per_channel[f"{sample.channel}:{outcome}"] += 1
        if outcome == "accepted":
            self.acknowledged.append(_dispute_id(body))
        if sample.bad and outcome != "refused":
            self.surprises.append(f"bad input ({sample.bad}) answered {status}")
        if not sample.bad and outcome == "refused":
            self.surprises.append(f"good {sample.channel} report refused: {body}")

    def summary(self, elapsed_s: float) -> dict[str, object]:
        return {
            **{key: self.counts[key] for key in ("sent", "accepted", "recorded", "refused")},
            "failed": self.counts["failed"],
            "elapsed_s": round(elapsed_s, 1),
            "per_channel": dict(sorted(self.per_channel.items())),
            "surprises": self.surprises[:20],
        }


def _outcome(status: int | None) -> str:
    if status in (201, 202):
        return "accepted"
    if status == 200:
        return "recorded"  # a WeChat message that is not a dispute
    if status is not None and 400 <= status < 500:
        return "refused"
    return "failed"


def _dispute_id(body: object) -> str:
    if isinstance(body, list):  # Open311 answers with the tracking number
        return str(body[0]["service_request_id"])
    assert isinstance(body, dict)
    return str(body["dispute_id"])


async def send(client: httpx.AsyncClient, sample: Sample, tally: Tally) -> None:
    try:
        response = await client.post(sample.path, content=sample.body, headers=sample.headers)
    except httpx.HTTPError as error:
        tally.record(sample, None, repr(error))
        return
    try:
        body = response.json()
    except ValueError:
        body = response.text
    tally.record(sample, response.status_code, body)


async def run(
    base_url: str, rate: float, duration_s: float, seed: int, bad_share: float
) -> tuple[Tally, float]:
    samples = Samples(hanyin(), random.Random(seed))  # noqa: S311 (reproducible, not secret)
    tally = Tally()
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)
    tasks: set[asyncio.Task[None]] = set()

    async def one(sample: Sample) -> None:
        async with slots:
            await send(client, sample, tally)

    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=30, limits=limits, auth=Credentials()
    ) as client:
        start = time.monotonic()
        total = int(rate * duration_s)
        for i in range(total):
            # Send on schedule whatever the answers' latency: the rate is the offered load.
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(samples.sample(bad_share)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
        return tally, time.monotonic() - start


async def resolve_ids(base_url: str, ids: list[str]) -> list[str]:
    """Open311 answers with tracking numbers; the ids file holds dispute ids only."""
    resolved = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30, auth=Credentials()) as client:
        for ident in ids:
            if TRACKING_NUMBER.match(ident):
                response = await client.get(f"/v1/disputes/{ident}")
                response.raise_for_status()
                resolved.append(response.json()["dispute_id"])
            else:
                resolved.append(ident)
    return resolved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intake.simulate", description=__doc__)
    parser.add_argument("--rate", type=float, default=10, help="reports per second")
    parser.add_argument("--duration", type=float, default=10, help="seconds")
    parser.add_argument("--base-url", default="http://127.0.0.1:8081")
    parser.add_argument("--ids-file", type=Path, help="write acknowledged dispute ids here")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--bad-share", type=float, default=0.05, help="share of bad inputs")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    tally, elapsed = asyncio.run(run(args.base_url, args.rate, args.duration, seed, args.bad_share))
    if args.ids_file:
        ids = asyncio.run(resolve_ids(args.base_url, tally.acknowledged))
        args.ids_file.write_text("".join(f"{ident}\n" for ident in ids))
    print(json.dumps(tally.summary(elapsed) | {"seed": seed}, ensure_ascii=False))
    return 1 if tally.surprises or tally.counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
