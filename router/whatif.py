"""`python -m router what-if --policy candidate.yaml`: read every reported dispute from Kafka
(from the beginning up to the end offsets taken at start, so the run is bounded), route each
with the policy in force and with the candidate, and print how many would change tier or unit,
with a table by town and category."""

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import TypeAdapter, ValidationError

from contracts import topics
from contracts.events import CaseResolved, DisputeReported, LifecycleEvent
from router.changes import replay_changes
from router.policy import PolicyError, load_policy
from router.replay import WhatIf, what_if
from router.settings import RouterSettings
from router.watch import PolicyHolder
from services.jurisdiction import Jurisdiction

_LIFECYCLE: TypeAdapter[Any] = TypeAdapter(LifecycleEvent)


async def read_topic(bootstrap: str, topic: str, timeout_s: float) -> list[bytes]:
    """Every record now on `topic`: stops at the end offsets taken when it started."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        cluster = await consumer._client.fetch_all_metadata()
        partitions = [TopicPartition(topic, p) for p in cluster.partitions_for_topic(topic) or ()]
        if not partitions:
            return values
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        remaining = {p for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + timeout_s
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: not read to its end within {timeout_s:.0f} s")
            batches = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
            for partition, records in batches.items():
                values.extend(r.value for r in records if r.offset < ends[partition] and r.value)
                if await consumer.position(partition) >= ends[partition]:
                    remaining.discard(partition)
        return values
    finally:
        await consumer.stop()


def _decode_reports(values: list[bytes]) -> tuple[list[DisputeReported], int]:
    reports, invalid = [], 0
    for value in values:
        try:
            reports.append(DisputeReported.model_validate_json(value))
        except ValidationError:
            invalid += 1
    return reports, invalid


def _decode_resolutions(values: list[bytes]) -> list[CaseResolved]:
    resolved = []
    for value in values:
        try:
            event = _LIFECYCLE.validate_json(value)
        except ValidationError:
            continue
        if isinstance(event, CaseResolved):
            resolved.append(event)
    return resolved


def table(result: WhatIf) -> list[dict[str, Any]]:
    """One row per (town, category) where something changes, most changes first."""
    changed = Counter((c.town, c.category) for c in result.changes)
    tiers = Counter((c.town, c.category) for c in result.changes if c.before[0] != c.after[0])
    rows = [
        {
            "town": town,
            "category": category,
            "disputes": result.per_cell[(town, category)],
            "changed": count,
            "changed_tier": tiers[(town, category)],
        }
        for (town, category), count in changed.items()
    ]
    return sorted(rows, key=lambda row: (-row["changed"], row["town"], row["category"]))


def as_json(result: WhatIf, meta: dict[str, Any]) -> dict[str, Any]:
    moves = Counter(f"{c.before[0].value}->{c.after[0].value}" for c in result.changes)
    return meta | {
        "disputes": result.disputes,
        "changed": len(result.changes),
        "changed_tier": result.tier_changes,
        "changed_unit_only": result.unit_only_changes,
        "moves": dict(sorted(moves.items())),
        "table": table(result),
        "changes": [
            {
                "dispute_id": c.dispute_id,
                "tracking_number": c.tracking_number,
                "town": c.town,
                "category": c.category,
                "before": {
                    "tier": c.before[0].value,
                    "unit_id": c.before[1],
                    "rule": c.rule_before,
                },
                "after": {"tier": c.after[0].value, "unit_id": c.after[1], "rule": c.rule_after},
            }
            for c in result.changes
        ],
    }


def as_text(summary: dict[str, Any]) -> str:
    lines = [
        f"what-if over {summary['disputes']} reported disputes "
        f"({summary['topic']}, up to the end offsets at start; {summary['invalid']} unreadable)",
        f"  in force:  {summary['current_version']}  {summary['current_path']}",
        f"  candidate: {summary['candidate_version']}  {summary['candidate_path']}",
        f"would change tier or unit: {summary['changed']} "
        f"(tier: {summary['changed_tier']}, unit only: {summary['changed_unit_only']})",
    ]
    if summary["moves"]:
        lines.append("  " + ", ".join(f"{move}: {n}" for move, n in summary["moves"].items()))
    if summary["table"]:
        lines.append("")
        lines.append(f"{'town':<22} {'category':<20} {'disputes':>8} {'changed':>8} {'tier':>6}")
        lines.extend(
            f"{row['town']:<22} {row['category']:<20} {row['disputes']:>8} "
            f"{row['changed']:>8} {row['changed_tier']:>6}"
            for row in summary["table"]
        )
    return "\n".join(lines)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m router what-if", description=__doc__)
    parser.add_argument("--policy", type=Path, required=True, help="the candidate policy YAML")
    parser.add_argument(
        "--current",
        type=Path,
        help="compare with this policy file (default: the policy in force: ROUTER_POLICY_PATH "
        "with the changes made since, read from the config topic)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON, with every change")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to read a topic")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    settings = RouterSettings()
    current_path = args.current or settings.policy_path
    bootstrap = settings.kafka_bootstrap_servers
    # Logs go to stderr: stdout is the report (JSON with --json).
    logger = structlog.wrap_logger(structlog.PrintLogger(sys.stderr))
    try:
        policies = PolicyHolder(current_path, logger)
        candidate = load_policy(args.policy)
    except PolicyError as error:
        print(f"what-if: {error}", file=sys.stderr)
        return 2
    jurisdiction = Jurisdiction(logger)
    if args.current is None:
        changes = asyncio.run(read_topic(bootstrap, topics.CONFIG, args.timeout))
        replay_changes(changes, policies, jurisdiction)
    current = policies.current
    reported_values = asyncio.run(read_topic(bootstrap, topics.DISPUTES_REPORTED, args.timeout))
    lifecycle_values = asyncio.run(read_topic(bootstrap, topics.CASES_LIFECYCLE, args.timeout))
    reports, invalid = _decode_reports(reported_values)
    resolved = _decode_resolutions(lifecycle_values)
    result = what_if(reports, resolved, current, candidate, jurisdiction.current)
    summary = as_json(
        result,
        {
            "topic": topics.DISPUTES_REPORTED,
            "invalid": invalid,
            "current_version": current.version,
            "current_path": str(current_path) if policies.source == "file" else "config topic",
            "candidate_version": candidate.version,
            "candidate_path": str(args.policy),
        },
    )
    print(json.dumps(summary, ensure_ascii=False, indent=1) if args.json else as_text(summary))
    return 0
