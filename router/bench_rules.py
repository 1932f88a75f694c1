"""Micro-benchmark of the decision function: `python -m router.bench_rules [--n 20000]`.

Not part of `make test` (speed belongs in benchmarks, not assertions). Routes a varied set of
synthetic reports over the Hanyin registry with live-looking loads, and reports decisions per
second for `decide` alone and with the read-model lookups the handler does per report.
"""

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from contracts.events import Dispute, DisputeReported, Party
from contracts.registry import hanyin
from contracts.vocabulary import Category, Channel, HouseholdColor, RiskFlag
from router.policy import Policy
from router.readmodel import ReadModels
from router.rules import Situation, decide


def synthetic(n: int, seed: int = 321) -> list[DisputeReported]:
    rng = random.Random(seed)  # noqa: S311 (reproducible test data)
    registry = hanyin()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    reports = synthetic(args.n)
    registry, policy = hanyin(), Policy()
    models = ReadModels()
    for n, mediator in enumerate(registry.mediators.values()):
        for k in range(n % 7):
            models.load.assigned(f"open-{mediator.id}-{k}", 1, mediator.id)
    decided_at = datetime.now(UTC)
    plain = Situation(loads=models.load.loads)
    decide(reports[0], policy, registry, decided_at, plain)  # warm caches

    started = time.perf_counter()
    for reported in reports:
        decide(reported, policy, registry, decided_at, plain)
    alone = time.perf_counter() - started

    started = time.perf_counter()
    for reported in reports:
        situation = models.situation(reported.dispute, reported.occurred_at, policy)
        routed = decide(reported, policy, registry, decided_at, situation).routed
        assert routed is not None
        models.apply_routed(routed)
    with_models = time.perf_counter() - started

    # For scale: what the Kafka edge spends per event anyway (parse in, serialise out).
    raw = [reported.model_dump_json() for reported in reports]
    started = time.perf_counter()
    for value in raw:
        DisputeReported.model_validate_json(value)
    parse = time.perf_counter() - started
    routed_all = [decide(r, policy, registry, decided_at, plain).routed for r in reports]
    started = time.perf_counter()
    for routed in routed_all:
        assert routed is not None
        routed.model_dump_json()
    dump = time.perf_counter() - started

    for label, seconds in (
        ("decide alone", alone),
        ("with read models", with_models),
        ("(parse report)", parse),
        ("(serialise routed)", dump),
    ):
        print(
            f"{label:<18} {args.n / seconds:>10,.0f} decisions/s   "
            f"{seconds / args.n * 1e6:>7.1f} µs/decision   ({args.n} reports)"
        )


if __name__ == "__main__":
    main()
