"""Micro-benchmark of the decision function: `python -m router.bench_rules [--n 20000]`.

Not part of `make test` (speed belongs in benchmarks, not assertions). Routes a varied set of
synthetic reports with live-looking loads over two registries — the Hanyin county the product
ships, and a prefecture-size one (≥ 10,000 units) generated in memory as
`contracts/data/generate_xiangxi.py` makes it — and reports, for each, decisions per second for
`decide` alone and with the read-model lookups the handler does per report, and what the units
API's search and listing cost there.
"""

import argparse
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts.data import generate_xiangxi
from contracts.events import CaseRouted, Dispute, DisputeReported, Party
from contracts.registry import Registry, hanyin
from contracts.unit_search import hit, search_units
from contracts.vocabulary import Category, Channel, HouseholdColor, RiskFlag
from router.models import units_below
from router.policy import Policy
from router.readmodel import ReadModels
from router.rules import Situation, decide


def synthetic(n: int, registry: Registry | None = None, seed: int = 321) -> list[DisputeReported]:
    """`n` reports from villages of `registry` (Hanyin's by default), drawn reproducibly."""
    rng = random.Random(seed)  # noqa: S311 (reproducible test data)
    registry = registry or hanyin()
    villages = [u.id for u in registry.units.values() if u.kind == "village"]
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    reports = []
    for i in range(n):
        village = rng.choice(villages)
        parties = tuple(
            Party(
                name=f"p{i}",
                village_id=rng.choice([village, village, rng.choice(villages)]),
                household_color=rng.choice(list(HouseholdColor)),
                phone_hash=f"{rng.randrange(10**6):032x}",
            )
            for _ in range(rng.randint(1, 3))
        )
        dispute = Dispute(
            dispute_id=f"bench-{i}",
            tracking_number=f"HY-BENCH-{i}",
            channel=Channel.HOTLINE,
            category=rng.choice(list(Category)),
            description="bench",
            village_id=village,
            parties=parties,
            people_involved=rng.choice([1, 2, 3, 12, 60]),
            amount_yuan=rng.choice([0, 5_000, 60_000, 600_000]),
            risk_flags=tuple(rng.sample(list(RiskFlag), rng.choice([0, 0, 0, 1]))),
        )
        reports.append(
            DisputeReported(
                occurred_at=t0 + timedelta(seconds=i),
                correlation_id=dispute.dispute_id,
                dispute=dispute,
            )
        )
    return reports


@dataclass(frozen=True)
class Run:
    """What one registry's bench measured (seconds are totals over `n` reports)."""

    label: str
    units: int
    grids: int
    n: int
    alone: float
    with_models: float
    parse: float
    dump: float
    routed: list[CaseRouted]


def prefecture() -> Registry:
    """A prefecture-size registry (16,929 units, 14,400 grids), made in memory."""
    return generate_xiangxi.registry(**generate_xiangxi.PREFECTURE_SIZE)


def registries() -> list[tuple[str, Registry]]:
    return [("Hanyin (shipped)", hanyin()), ("prefecture (generated)", prefecture())]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(label: str, registry: Registry, n: int) -> Run:
    """Routes `n` synthetic reports from `registry`'s villages over it."""
    reports = synthetic(n, registry)
    policy, models = Policy(), ReadModels()
    for k, mediator in enumerate(registry.mediators.values()):
        for j in range(k % 7):
            models.load.assigned(f"open-{mediator.id}-{j}", 1, mediator.id)
    decided_at = datetime.now(UTC)
    plain = Situation(loads=models.load.loads)
    decide(reports[0], policy, registry, decided_at, plain)  # warm caches

    def alone() -> None:
        for reported in reports:
            decide(reported, policy, registry, decided_at, plain)

    routed_all: list[CaseRouted] = []

    def with_models() -> None:
        for reported in reports:
            situation = models.situation(reported.dispute, reported.occurred_at, policy)
            routed = decide(reported, policy, registry, decided_at, situation).routed
            assert routed is not None
            models.apply_routed(routed)
            routed_all.append(routed)

    # For scale: what the Kafka edge spends per event anyway (parse in, serialise out).
    raw = [reported.model_dump_json() for reported in reports]
    kinds = [unit.kind for unit in registry.units.values()]
    return Run(
        label=label,
        units=len(kinds),
        grids=kinds.count("grid"),
        n=n,
        alone=timed(alone),
        with_models=timed(with_models),
        parse=timed(lambda: [DisputeReported.model_validate_json(value) for value in raw]),
        dump=timed(lambda: [routed.model_dump_json() for routed in routed_all]),
        routed=routed_all,
    )


def units_api_costs(registry: Registry, rounds: int = 20) -> dict[str, float]:
    """Milliseconds per call of what the units API does: search (a name part that matches
    few, one that matches nearly every unit, an id prefix, within a county) and listing."""
    village = next(u for u in registry.units.values() if u.kind == "village")
    town = registry.units[village.parent_id or ""]
    top = next(u for u in registry.units.values() if u.parent_id is None)
    county = next(u for u in registry.units.values() if u.kind == "county")
    ten = search_units(registry, "1", limit=10).units  # the index is built once per registry
    calls: dict[str, Callable[[], object]] = {
        f"search '{village.name[:2]}'": lambda: search_units(registry, village.name[:2], limit=20),
        "search '村' (most units)": lambda: search_units(registry, "村", limit=20),
        f"search id '{village.id[:6]}'": lambda: search_units(registry, village.id[:6], limit=20),
        "search within a county": lambda: search_units(registry, "1", within=county.id, limit=20),
        "names the path of 10 hits": lambda: [hit(registry, u) for u in ten],
        "list a town's children": lambda: units_below(registry, town.id, None),
        "list the top's villages": lambda: units_below(registry, top.id, "village"),
    }
    return {name: _per_call_ms(call, rounds) for name, call in calls.items()}


def _per_call_ms(call: Callable[[], object], rounds: int) -> float:
    return timed(lambda: [call() for _ in range(rounds)]) / rounds * 1e3


def report(result: Run) -> None:
    print(
        f"{result.label}: {result.units:,} units, {result.grids:,} grids — "
        f"decide alone {result.n / result.alone:,.0f} decisions/s, "
        f"with read models {result.n / result.with_models:,.0f} decisions/s"
    )
    for label, seconds in (
        ("decide alone", result.alone),
        ("with read models", result.with_models),
        ("(parse report)", result.parse),
        ("(serialise routed)", result.dump),
    ):
        print(
            f"  {label:<18} {result.n / seconds:>10,.0f} decisions/s   "
            f"{seconds / result.n * 1e6:>7.1f} µs/decision   ({result.n} reports)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    for label, registry in registries():
        result = run(label, registry, args.n)
        report(result)
        for name, ms in units_api_costs(registry).items():
            print(f"  units API: {name:<28} {ms:>8.2f} ms/call")


if __name__ == "__main__":
    main()
