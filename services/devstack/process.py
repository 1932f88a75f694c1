"""Process plumbing shared by the servers: run a tool, start a daemon, find it again, stop it.

Servers are started detached (own session, output to a log file, pid in a file) so they
outlive the ``up`` command; later commands find them through the pid file and check the
process's command line so a recycled pid is never mistaken for (or killed as) our server.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from services.devstack.errors import DevstackError

#: How often readiness and exit checks poll; short, since starting is what users wait on.
POLL_SECONDS = 0.2


def say(message: str) -> None:
    """Progress goes to stderr, keeping stdout for the ``KEY=value`` lines meant for ``export``."""
    sys.stderr.write(f"devstack: {message}\n")  # one write: lines from threads never mix
    sys.stderr.flush()


def tail(path: Path, lines: int = 25) -> str:
    """The end of a log file, indented, for error messages; empty if there is no such file."""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join(f"    {line}" for line in text)


def run(
    cmd: Sequence[str], *, log: Path, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> str:
    """Run a tool to completion, appending its output to ``log``; return its stdout.

    On failure the error names the command and shows the end of the log, because the user
    otherwise has to go and find out which of several steps broke.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as sink:
        sink.write(f"\n$ {' '.join(cmd)}\n")
        sink.flush()
        result = subprocess.run(
            cmd,
            cwd=cwd,
            env=None if env is None else dict(env),
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
            check=False,
        )
        sink.write(result.stdout)
    if result.returncode != 0:
        raise DevstackError(
            f"`{' '.join(cmd)}` failed with exit code {result.returncode}; "
            f"end of {log}:\n{tail(log)}"
        )
    return result.stdout


def spawn(cmd: Sequence[str], *, log: Path, pid_file: Path, cwd: Path) -> int:
    """Start a long-running server detached from this command and record its pid.

    A new session keeps it alive when the terminal closes and out of Ctrl-C's process group.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as sink:
        sink.write(f"\n$ {' '.join(cmd)}\n")
        sink.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def read_pid(pid_file: Path) -> int | None:
    """The pid in the file's first line, or None if the file is missing or garbled."""
    try:
        first = pid_file.read_text().split("\n", 1)[0].strip()
    except OSError:
        return None
    return int(first) if first.isdigit() else None


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (a zombie has exited, only unreaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no procfs: trust kill(0)
    return state != "Z"


def cmdline(pid: int) -> str:
    """The process's command line joined by spaces ("" if unknown), to confirm its identity."""
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def find_server(pid_file: Path, marker: str) -> int | None:
    """The pid of our running server, or None; a stale pid file is removed on the way.

    ``marker`` must appear in the command line, so a pid reused by another program after a
    reboot is not taken for the server.
    """
    pid = read_pid(pid_file)
    if pid is None:
        return None
    if alive(pid) and marker in cmdline(pid):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def stop_pid(pid: int, *, name: str, timeout: float) -> None:
    """SIGTERM, wait up to ``timeout`` seconds for a clean exit, then SIGKILL."""
    say(f"{name}: stopping (pid {pid})")
    _signal(pid, signal.SIGTERM)
    if wait_exit(pid, timeout):
        return
    say(f"{name}: still running after {timeout:.0f} s, sending SIGKILL")
    _signal(pid, signal.SIGKILL)
    if not wait_exit(pid, 10):
        raise DevstackError(f"{name} (pid {pid}) did not exit even after SIGKILL")


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone: nothing to stop
        os.kill(pid, sig)


def wait_exit(pid: int, timeout: float) -> bool:
    """Wait for a process that may not be our child; True once it is gone."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_ready(
    probe: Callable[[], str | None], *, name: str, timeout: float, log: Path, pid: int | None = None
) -> None:
    """Poll ``probe`` (None = ready, else why not) until ready, the server dies, or time is up.

    Fails fast when the process exits, and always points at the log that says why.
    """
    deadline = time.monotonic() + timeout
    while (reason := probe()) is not None:
        if pid is not None and not alive(pid):
            raise DevstackError(f"{name} exited during start-up; end of {log}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise DevstackError(
                f"{name} not ready after {timeout:.0f} s ({reason}); end of {log}:\n{tail(log)}"
            )
        time.sleep(POLL_SECONDS)


def digest(*paths: Path) -> str:
    """SHA-256 over files' names and contents: the cache key for fetched or built artefacts."""
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def stamp_matches(stamp: Path, value: str) -> bool:
    """True if the cache stamp file records ``value`` (i.e. the cached artefact is current)."""
    try:
        return stamp.read_text().strip() == value
    except OSError:
        return False
