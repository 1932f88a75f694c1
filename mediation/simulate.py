"""Play the Hanyin sample's mediators against a running mediation, over HTTP: each works the
cases in their unit's queue (accept, one or two sessions, an outcome; a return visit after a
resolution), then the resolution metrics are read back per town:

    python -m mediation.simulate --duration 60 [--base-url http://127.0.0.1:8083] [--seed 7]
                                 [--drain 120] [--record actions.jsonl]

Outcomes are drawn per case: mostly resolved, some failed (the router then sends the case one
tier up, where it is worked again), a few referred or withdrawn. With --drain the mediators keep
working after --duration until no queue holds a case (or the drain time is up). --record writes
one line per outcome: case, tier, unit, outcome. Prints the per-town table (village
kept-at-origin rate, resolution rate, median hours to resolution) and exits 1 if any action
was refused.
"""

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from contracts.registry import Registry, hanyin
from services.auth import AuthSettings, Role, issue_token

OUTCOMES = (("resolved", 0.8), ("failed", 0.12), ("referred", 0.05), ("withdrawn", 0.03))
SATISFACTION = (("satisfied", 0.8), ("basically", 0.15), ("dissatisfied", 0.05))
WAITING = ("assigned", "reopened")
MAX_IN_FLIGHT = 16
CASES_PER_PASS = 64
POLL_S = 0.5
QUIET_S = 3.0


class MediatorCredentials(httpx.Auth):
    """Each request as the mediator it names (queues: the unit's first mediator); an admin
    reads the metrics. Keys from AUTH_KEYS, as every service reads them."""

    def __init__(self, registry: Registry) -> None:
        self._settings = AuthSettings()
        self._registry = registry
        self._tokens: dict[str, str] = {}
        self._admin = issue_token(
            self._settings, subject="simulator-admin", role=Role.ADMIN, unit_id="hanyin"
        )

    def token(self, mediator_id: str, unit_id: str) -> str:
        if mediator_id not in self._tokens:
            self._tokens[mediator_id] = issue_token(
                self._settings, subject=mediator_id, role=Role.MEDIATOR, unit_id=unit_id
            )
        return self._tokens[mediator_id]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        acting = request.extensions.get("mediator")
        token = self.token(*acting) if acting else self._admin
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


@dataclass
class Tally:
    actions: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)
    outcomes: list[dict[str, str]] = field(default_factory=list)


def _draw(rng: random.Random, choices: Iterable[tuple[str, float]]) -> str:
    options = dict(choices)
    return rng.choices(list(options), list(options.values()))[0]


class Mediators:
    def __init__(self, client: httpx.AsyncClient, registry: Registry, seed: int | None) -> None:
        self._client = client
        self._registry = registry
        self._rng = random.Random(seed)  # noqa: S311 (reproducible, not secret)
        self._limit = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._busy: set[str] = set()
        self.tally = Tally()
        kinds = ("village", "town", "county")
        self.units = [u.id for u in registry.units.values() if u.kind in kinds]

    async def work_pass(self) -> int:
        """One look at every queue; returns how many cases were waiting there."""
        queues = await asyncio.gather(*(self._queue(unit) for unit in self.units))
        cases = [case for queue in queues for case in queue if case["case_id"] not in self._busy]
        # A bounded share per pass, so --duration and --drain hold over a long backlog.
        await asyncio.gather(*(self._work(case) for case in cases[:CASES_PER_PASS]))
        return sum(len(queue) for queue in queues)

    async def _queue(self, unit_id: str) -> list[dict[str, Any]]:
        first = self._registry.mediators_of(unit_id)[0].id
        async with self._limit:
            response = await self._client.get(
                f"/v1/units/{unit_id}/queue",
                params={"limit": 100},
                extensions={"mediator": (first, unit_id)},
            )
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()
        return items

    async def _work(self, case: dict[str, Any]) -> None:
        """Take one case from where it stands to its outcome."""
        case_id, mediator = case["case_id"], case.get("mediator_id")
        if mediator is None:
            mediator = self._registry.mediators_of(case["unit_id"])[0].id
        self._busy.add(case_id)
        try:
            me = {"mediator_id": mediator}
            if case["state"] in WAITING:
                await self._act(case, mediator, "accept", me)
            for n in range(self._rng.randint(1, 2)):
                session = {**me, "held_at": _now(), "participants": ["申请人", "被申请人"]}
                await self._act(case, mediator, "sessions", {**session, "notes": f"第{n + 1}次"})
            await self._conclude(case, mediator)
        finally:
            self._busy.discard(case_id)

    async def _conclude(self, case: dict[str, Any], mediator: str) -> None:
        outcome = _draw(self._rng, OUTCOMES)
        body: dict[str, Any] = {"mediator_id": mediator, "outcome": outcome}
        body |= {
            "resolved": {"agreement": "oral", "summary": "双方达成口头协议"},
            "failed": {"reason": "双方分歧较大"},
            "referred": {"referred_to": "court"},
            "withdrawn": {"reason": "申请人撤回"},
        }[outcome]
        if not await self._act(case, mediator, "outcome", body):
            return
        record = {"case_id": case["case_id"], "tier": case["tier"], "unit_id": case["unit_id"]}
        self.tally.outcomes.append(record | {"outcome": outcome})
        if outcome == "resolved":
            visit = {"mediator_id": mediator, "satisfaction": _draw(self._rng, SATISFACTION)}
            await self._act(case, mediator, "visit", visit)

    async def _act(self, case: dict[str, Any], mediator: str, action: str, body: Any) -> bool:
        async with self._limit:
            response = await self._client.post(
                f"/v1/cases/{case['case_id']}/{action}",
                json=body,
                extensions={"mediator": (mediator, case["unit_id"])},
            )
        self.tally.actions[f"{action}:{response.status_code}"] += 1
        if response.status_code != 200:
            self.tally.refused.append(f"{action} {case['case_id']}: {response.text[:200]}")
        return response.status_code == 200


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def work(base_url: str, duration_s: float, drain_s: float, seed: int | None) -> Mediators:
    registry = hanyin()
    auth = MediatorCredentials(registry)
    async with httpx.AsyncClient(base_url=base_url, auth=auth, timeout=30) as client:
        mediators = Mediators(client, registry, seed)
        started = time.monotonic()
        while time.monotonic() - started < duration_s:
            await mediators.work_pass()
            await asyncio.sleep(POLL_S)
        # Draining ends once the queues stayed empty a while: a failed case is in none
        # until the router has sent it up a tier.
        drain_until, quiet_since = time.monotonic() + drain_s, time.monotonic()
        while drain_s and time.monotonic() < drain_until:
            if await mediators.work_pass():
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > QUIET_S:
                break
            await asyncio.sleep(POLL_S)
    return mediators


async def town_figures(base_url: str) -> list[dict[str, Any]]:
    """Per town: the village tier's kept-at-origin rate, and the town's own figures."""
    registry = hanyin()
    rows = []
    auth = MediatorCredentials(registry)
    async with httpx.AsyncClient(base_url=base_url, auth=auth, timeout=30) as client:
        for town in registry.children_of(registry.top.id):
            params = {"unit": town.id, "by": "tier"}
            response = await client.get("/v1/metrics/resolution", params=params)
            response.raise_for_status()
            figures = response.json()
            groups: list[dict[str, Any]] = figures["groups"]
            village = next((g for g in groups if g["key"] == "village"), {})
            total = figures["total"]
            rows.append(
                {
                    "town": town.id,
                    "name": town.name,
                    "village_kept_at_origin_rate": village.get("kept_at_origin_rate"),
                    "resolution_rate": total["resolution_rate"],
                    "median_hours_to_resolution": total["median_hours_to_resolution"],
                    "closed": total["counts"].get("closed", 0),
                }
            )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    def percent(value: float | None) -> str:
        return "–" if value is None else f"{value:.1%}"

    lines = [
        "| town | village kept at origin | resolution rate | median hours to resolution | closed |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        median = row["median_hours_to_resolution"]
        lines.append(
            f"| {row['name']} ({row['town']}) | {percent(row['village_kept_at_origin_rate'])} "
            f"| {percent(row['resolution_rate'])} | {'–' if median is None else f'{median:g}'} "
            f"| {row['closed']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mediation.simulate", description=__doc__)
    parser.add_argument("--duration", type=float, default=60, help="seconds of work")
    parser.add_argument("--drain", type=float, default=0, help="then up to this many seconds")
    parser.add_argument("--base-url", default="http://127.0.0.1:8083")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--record", type=Path, help="write one JSON line per outcome here")
    args = parser.parse_args(argv)
    mediators = asyncio.run(work(args.base_url, args.duration, args.drain, args.seed))
    tally = mediators.tally
    if args.record:
        args.record.write_text("".join(json.dumps(o) + "\n" for o in tally.outcomes))
    summary = {"actions": dict(sorted(tally.actions.items())), "refused": tally.refused[:20]}
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    print(table(asyncio.run(town_figures(args.base_url))))
    return 1 if tally.refused else 0


if __name__ == "__main__":
    sys.exit(main())
