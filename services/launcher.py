"""Start, stop and inspect the four services as local processes: `python -m services.launcher`.

`make up` runs this after `services.devstack up`; the integration tests reuse `spawn` and
`wait_healthy` so they exercise the services exactly as a person starts them.
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from services.accounts import Account, AccountStore, hash_password
from services.auth import Role
from services.deployment import (
    ENV_VARIABLE,
    Environment,
    UnknownEnvironmentError,
    current_environment,
    secret_problems,
)
from services.mongo import create_mongo_client

SERVICES: dict[str, int] = {"intake": 8081, "router": 8082, "mediation": 8083, "notifier": 8084}
RUN_DIR = Path(os.environ.get("TIAOJIE_RUN_DIR", ".devstack/run"))


def port_of(name: str) -> int:
    return int(os.environ.get(f"{name.upper()}_PORT", SERVICES[name]))


def spawn(name: str, env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """One service in its own session, so a terminal's Ctrl-C does not reach it."""
    return subprocess.Popen(
        [sys.executable, "-m", name],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def is_healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with code {process.returncode} before it was healthy")
        if is_healthy(url):
            return
        time.sleep(0.2)
    raise TimeoutError(f"{url}/healthz did not answer 200 within {timeout_s:.0f} s")


def _pid_file(name: str) -> Path:
    return RUN_DIR / f"{name}.pid"


def _running_pid(name: str) -> int | None:
    try:
        pid = int(_pid_file(name).read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def announce_environment() -> bool:
    """Say which kind of stack this is before starting it; False when the setting is wrong."""
    from intake.settings import IntakeSettings  # noqa: PLC0415 (it uses every secret there is)

    try:
        environment = current_environment()
    except UnknownEnvironmentError as error:
        print(error)
        return False
    if environment is Environment.PRODUCTION:
        print(f"production ({ENV_VARIABLE} is not 'development'): each service checks its secrets")
        return True
    weak = secret_problems(IntakeSettings().secrets())
    print(f"development stack ({ENV_VARIABLE}=development)")
    if weak:
        print("  development secrets in use, anyone can sign tokens or open identities with them:")
        print("\n".join(f"    {problem}" for problem in weak))
        print("  never put real petitioners' data in this stack")
    return True


def up() -> int:
    if not announce_environment():
        return 1
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    started: list[tuple[str, subprocess.Popen[bytes]]] = []
    for name in SERVICES:
        if _running_pid(name):
            continue
        with (RUN_DIR / f"{name}.log").open("ab") as log:
            process = spawn(name, dict(os.environ), log)
        _pid_file(name).write_text(str(process.pid))
        started.append((name, process))
    for name, process in started:
        url = f"http://127.0.0.1:{port_of(name)}"
        try:
            wait_healthy(url, process)
        except (RuntimeError, TimeoutError) as error:
            print(f"{name} failed to start: {error}; see {RUN_DIR / (name + '.log')}")
            print(_tail(RUN_DIR / f"{name}.log"))
            return 1
    for name in SERVICES:
        print(f"{name:<10} http://127.0.0.1:{port_of(name)}   (docs: /docs, health: /healthz)")
    print_demo_users()
    return 0


def _tail(log: Path, lines: int = 8) -> str:
    """The end of a service's log: a refusal to start says why there."""
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(f"  | {line}" for line in text[-lines:])


DEMO_USERS = [
    (Role.OPERATOR, "hanyin", "operator-demo", "operator-demo"),
    (Role.MEDIATOR, "hanyin-shuangru-jianghe", "mediator-demo", "med-hanyin-shuangru-jianghe-1"),
    (Role.SUPERVISOR, "hanyin", "supervisor-demo", "supervisor-demo"),
    (Role.ADMIN, "hanyin", "admin-demo", "admin-demo"),
]
"""(role, unit, user name, subject): one person per console; a mediator the registry lists."""
DEMO_PASSWORD_SUFFIX = "-pass-2026"  # noqa: S105 (development only: never made in production)


def demo_password(role: Role) -> str:
    """Fixed, published demo passwords: development stacks only (up() refuses otherwise)."""
    return f"{role.value}{DEMO_PASSWORD_SUFFIX}"


async def put_demo_users() -> None:
    """The demo accounts as listed, their passwords set back to the demo ones (idempotent)."""
    from services.settings import ServiceSettings  # noqa: PLC0415 (reads the environment)

    settings = ServiceSettings()
    client = create_mongo_client(settings)
    try:
        store = AccountStore(client[settings.mongodb_database])
        await store.ensure_indexes()
        now = datetime.now(UTC)
        for role, unit_id, user_name, subject in DEMO_USERS:
            account = Account(
                user_name=user_name,
                display_name=user_name,
                role=role,
                unit_id=unit_id,
                subject=subject,
                created_at=now,
                updated_at=now,
            )
            await store.put(account, hash_password(demo_password(role)))
    finally:
        await client.close()


def print_demo_users() -> None:
    """Each console's address and a demo person to sign in with; for curl, how to get a
    bearer token (accounts are for people, tokens for programs)."""
    if current_environment() is not Environment.DEVELOPMENT:
        print("\nno demo users in production: an admin creates accounts (/v1/users)")
        return
    asyncio.run(put_demo_users())
    print("\ndemo users (fixed development passwords, set again by every `make up`):")
    for role, unit_id, user_name, subject in DEMO_USERS:
        acting = f" as {subject}" if subject != user_name else ""
        print(f"  {role.value:<11} {user_name:<16} {demo_password(role):<24} {unit_id}{acting}")
    print("\nconsoles (sign in with a demo user):")
    print(f"  operator   http://127.0.0.1:{port_of('intake')}/")
    print(f"  mediator   http://127.0.0.1:{port_of('mediation')}/")
    print(f"  supervisor http://127.0.0.1:{port_of('notifier')}/")
    print(f"  users      http://127.0.0.1:{port_of('router')}/console/users   (admin)")
    print("\nbearer tokens for curl and programs (signed with AUTH_KEYS), e.g.:")
    print(
        "  export OPERATOR=$(python -m services.auth issue "
        "--role operator --unit hanyin --subject operator-demo)"
    )


def down() -> int:
    for name in SERVICES:
        pid = _running_pid(name)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _running_pid(name):
            time.sleep(0.1)
        if _running_pid(name):
            os.kill(pid, signal.SIGKILL)
        _pid_file(name).unlink(missing_ok=True)
        print(f"{name} stopped")
    return 0


def status() -> int:
    all_up = True
    for name in SERVICES:
        pid = _running_pid(name)
        url = f"http://127.0.0.1:{port_of(name)}"
        healthy = pid is not None and is_healthy(url)
        all_up &= healthy
        state = "healthy" if healthy else ("running" if pid else "stopped")
        print(f"{name:<10} {state:<8} pid={pid or '-'} {url}")
    return 0 if all_up else 1


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m services.launcher", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    command = parser.parse_args().command
    return {"up": up, "down": down, "status": status}[command]()


if __name__ == "__main__":
    sys.exit(main())
