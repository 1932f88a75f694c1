"""``python -m services.devstack up|down|status|reset|env``: real Kafka and MongoDB, no Docker.

Starts Apache Kafka (KRaft) and SecantusDB (a MongoDB-compatible server) on loopback from the
recipes in ``deploy/local``, keeping every file under ``.devstack/``. ``up`` prints ``KEY=value``
lines on stdout (progress goes to stderr), so ``export $(python -m services.devstack up)`` works.
Standard library only: it must run before any dependency of the project is installed.
"""

from __future__ import annotations

import argparse
import fcntl
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from services.devstack.config import HOST, Layout, Ports
from services.devstack.errors import DevstackError
from services.devstack.kafka import Kafka
from services.devstack.process import say
from services.devstack.secantus import SecantusDB
from services.devstack.server import Server


@dataclass(frozen=True)
class Stack:
    """The two servers, built from the environment's ports and state directory."""

    layout: Layout
    ports: Ports
    kafka: Kafka
    mongodb: SecantusDB

    @classmethod
    def from_env(cls) -> Stack:
        layout, ports = Layout.from_env(), Ports.from_env()
        return cls(layout, ports, Kafka(layout, ports), SecantusDB(layout, ports))

    @property
    def servers(self) -> tuple[Server, ...]:
        return (self.kafka, self.mongodb)

    def env_lines(self) -> list[str]:
        """What clients need; the services and tests read exactly these variables."""
        return [
            f"KAFKA_BOOTSTRAP_SERVERS={HOST}:{self.ports.kafka}",
            f"MONGODB_URI={self.mongodb.uri}",
        ]


def up(stack: Stack, *, fresh: bool) -> int:
    """Check tools, fetch/build what is missing, start what is stopped, wait until all answer."""
    started = time.monotonic()
    missing = [problem for server in stack.servers for problem in server.missing()]
    if missing:
        raise DevstackError("missing prerequisites:\n  - " + "\n  - ".join(missing))
    busy = [problem for server in stack.servers for problem in server.conflicts()]
    if busy:  # checked again at each start; checking now saves waiting for a build first
        raise DevstackError("ports in use:\n  - " + "\n  - ".join(busy))
    with _locked(stack.layout):
        if fresh:
            _down(stack)
            _wipe(stack.layout)
        stack.layout.make_dirs()
        _prepare_all(stack.servers)
        kafka_pid = stack.kafka.start()  # the slowest to boot: let it run meanwhile
        stack.mongodb.wait(stack.mongodb.start())
        stack.kafka.wait(kafka_pid)
    say(f"all servers ready in {time.monotonic() - started:.1f} s")
    print("\n".join(stack.env_lines()), flush=True)
    return 0


def down(stack: Stack) -> int:
    """Stop everything that runs; stopping nothing is fine."""
    with _locked(stack.layout):
        _down(stack)
    say("all servers stopped")
    return 0


def reset(stack: Stack) -> int:
    """Stop everything and delete data and logs (not the cache): the next ``up`` starts clean."""
    with _locked(stack.layout):
        _down(stack)
        _wipe(stack.layout)
    say(f"data and logs deleted (cached downloads kept in {stack.layout.cache})")
    return 0


def status(stack: Stack) -> int:
    """One line per server; exit 0 only if every server runs and answers."""
    states = [server.status() for server in stack.servers]
    print("\n".join(state.line() for state in states))
    return 0 if all(state.ready for state in states) else 1


def env(stack: Stack) -> int:
    """Print the client variables without starting anything."""
    print("\n".join(stack.env_lines()))
    return 0


def _down(stack: Stack) -> None:
    """Try every server even if one fails."""
    errors = []
    for server in stack.servers:
        try:
            server.stop()
        except DevstackError as exc:
            errors.append(f"{server.name}: {exc}")
    if errors:
        raise DevstackError("\n".join(errors))


def _wipe(layout: Layout) -> None:
    for path in (layout.data, layout.logs, layout.run):
        shutil.rmtree(path, ignore_errors=True)


def _prepare_all(servers: tuple[Server, ...]) -> None:
    """Fetch the jars and install SecantusDB side by side: cold start is mostly this."""
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        futures = [pool.submit(server.prepare) for server in servers]
    for future in futures:
        future.result()  # re-raises the first failure


@contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    """One ``up``/``down``/``reset`` at a time per state directory (e.g. parallel CI steps)."""
    layout.home.mkdir(parents=True, exist_ok=True)
    with (layout.home / "lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("waiting for another devstack command to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.devstack",
        description="Run real Kafka and SecantusDB (MongoDB protocol) on loopback without Docker.",
        epilog="Ports: KAFKA_PORT, KAFKA_CONTROLLER_PORT, MONGODB_PORT. Server build: "
        "DEVSTACK_SECANTUS=rust|python. State: .devstack/ (or DEVSTACK_HOME). "
        "Usage: export $(%(prog)s up)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start all servers and print client variables")
    start.add_argument(
        "--fresh", action="store_true", help="stop and delete all data first (as `reset` does)"
    )
    commands.add_parser("down", help="stop all servers")
    commands.add_parser("status", help="show each server; exit 1 unless all run")
    commands.add_parser("reset", help="stop all servers and delete their data and logs")
    commands.add_parser("env", help="print the client variables only")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; errors the user can act on become one message and exit code 1."""
    args = _parser().parse_args(argv)
    commands: dict[str, Callable[[Stack], int]] = {
        "up": lambda stack: up(stack, fresh=args.fresh),
        "down": down,
        "status": status,
        "reset": reset,
        "env": env,
    }
    try:
        return commands[args.command](Stack.from_env())
    except DevstackError as exc:
        print(f"devstack: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "devstack: interrupted; servers already started keep running "
            "(`python -m services.devstack down` stops them)",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
