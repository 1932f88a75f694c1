"""`python -m router registry check|import FILE`: a jurisdiction file (CSV, or JSON with a
`.json` name), read as every service will read it.

`check` prints what the file holds, or every problem by line and field. `import` also checks
it against the registry in force (replayed from the config topic) and against the open cases
(replayed from the case topics: a unit the file leaves out must hold none, or its cases would be
orphaned), then publishes it on the config topic, whole: every replica of every service takes
it in the topic's order. A file with any problem publishes nothing, so nothing is ever
half-loaded."""

import argparse
import asyncio
import getpass
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer

from contracts import topics
from contracts.admin import RegistryImported
from contracts.registry import Registry, RegistryConflictError, parse_document, with_jurisdiction
from contracts.registry_file import LADDER, RegistryFileError, read_registry_bytes
from router.feed import ReadModelFeed
from router.readmodel import ReadModels
from router.settings import RouterSettings
from router.whatif import read_topic
from services.broker import ensure_topics
from services.jurisdiction import CHANGE, Jurisdiction, JurisdictionChange

MAX_MESSAGE_BYTES = 900_000
"""Under Kafka's default 1 MiB message limit, with room for the envelope."""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m router registry")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="read a jurisdiction file and report on it")
    check.add_argument("file", type=Path)
    load = commands.add_parser("import", help="load a jurisdiction file into the running system")
    load.add_argument("file", type=Path)
    load.add_argument("--actor", default=getpass.getuser(), help="who imports (audited)")
    load.add_argument("--timeout", type=float, default=30.0, help="seconds to reach Kafka")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check_file(args.file)
    return import_file(args.file, args.actor, args.timeout)


def _read(path: Path) -> tuple[bytes, dict[str, Any]] | None:
    """The file and its document, or None after printing every problem."""
    try:
        raw = path.read_bytes()
        return raw, read_registry_bytes(raw, name=path.name)
    except OSError as error:
        print(f"{path}: cannot be read: {error}", file=sys.stderr)
    except RegistryFileError as refused:
        for problem in refused.problems:
            print(f"{path}: {problem}", file=sys.stderr)
        print(f"{path}: {len(refused.problems)} problem(s); nothing loaded", file=sys.stderr)
    return None


def _summary(document: dict[str, Any]) -> str:
    kinds = Counter(unit["kind"] for unit in document["units"])
    counts = ", ".join(f"{kinds[kind]} {kind}" for kind in LADDER if kinds[kind])
    return (
        f"version {document['version']}: {counts}; {len(document['mediators'])} mediators, "
        f"{len(document['wechat_groups'])} WeChat groups"
    )


def check_file(path: Path) -> int:
    read = _read(path)
    if read is None:
        return 1
    print(f"{path}: {_summary(read[1])}")
    return 0


def import_file(path: Path, actor: str, timeout_s: float) -> int:
    read = _read(path)
    if read is None:
        return 1
    raw, document = read
    imported = parse_document(document)
    change = RegistryImported(
        occurred_at=datetime.now(UTC),
        correlation_id=f"registry:{imported.top.id}",
        actor=actor,
        role="admin",
        actor_unit_id=imported.top.id,
        file_name=path.name,
        content_gzip=RegistryImported.pack(raw),
        top_unit_id=imported.top.id,
        units=len(imported.units),
        version=imported.version,
    )
    value = change.model_dump_json().encode()
    if len(value) > MAX_MESSAGE_BYTES:
        print(f"{path}: {len(value)} bytes compressed, over {MAX_MESSAGE_BYTES}", file=sys.stderr)
        return 1
    bootstrap = RouterSettings().kafka_bootstrap_servers
    try:
        asyncio.run(_publish_checked(bootstrap, imported, change, value, timeout_s))
    except RegistryConflictError as conflict:
        print(f"{path}: {conflict}; nothing loaded", file=sys.stderr)
        return 1
    print(f"{path}: imported {_summary(document)}; every service takes it from the config topic")
    return 0


async def _publish_checked(
    bootstrap: str, imported: Registry, change: RegistryImported, value: bytes, timeout_s: float
) -> None:
    """Refuse (RegistryConflictError) what the registry in force could not take, then publish
    with every in-sync replica's acknowledgement."""
    await asyncio.wait_for(ensure_topics(bootstrap), timeout_s)
    current = await _registry_in_force(bootstrap, timeout_s)
    dropped = set(current.units) - set(with_jurisdiction(current, imported).units)
    if dropped and (holding := await _open_cases_at(bootstrap, dropped, timeout_s)):
        listed = "; ".join(f"{unit}: {', '.join(cases)}" for unit, cases in holding.items())
        raise RegistryConflictError(
            f"units the file leaves out still hold open cases ({listed}); close or move "
            "them first, or keep the units"
        )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, max_request_size=2**20
    )
    await producer.start()
    try:
        await producer.send_and_wait(topics.CONFIG, value, key=change.correlation_id.encode())
    finally:
        await producer.stop()


async def _open_cases_at(
    bootstrap: str, unit_ids: set[str], timeout_s: float
) -> dict[str, list[str]]:
    """The open cases each of `unit_ids` holds, as the case topics tell (the router's model)."""
    models = ReadModels()
    feed = ReadModelFeed(models)
    for value in await read_topic(bootstrap, topics.CASES_ROUTED, timeout_s):
        feed.routed(value)
    for value in await read_topic(bootstrap, topics.CASES_LIFECYCLE, timeout_s):
        feed.lifecycle(value)
    held = {unit: models.load.open_cases_at(unit) for unit in sorted(unit_ids)}
    return {unit: cases for unit, cases in held.items() if cases}


async def _registry_in_force(bootstrap: str, timeout_s: float) -> Registry:
    """The deployment's registry with every jurisdiction change on the config topic."""
    jurisdiction = Jurisdiction(structlog.get_logger("registry-import"))
    for record in await read_topic(bootstrap, topics.CONFIG, timeout_s):
        change = CHANGE.validate_json(record)
        if isinstance(change, JurisdictionChange):
            jurisdiction.apply(change)
    return jurisdiction.current
