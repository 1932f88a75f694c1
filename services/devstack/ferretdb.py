"""FerretDB 1.24 (MongoDB wire protocol over PostgreSQL), built from ``deploy/local/ferretdb``.

MongoDB itself is in no registry this machine reaches; FerretDB is a Go module, so a tiny
``main.go`` embedding it is built once with the Go toolchain and cached. (``go install`` of
FerretDB's own command builds a binary that panics at start: upstream issue #2982.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from services.devstack import process
from services.devstack.config import HOST, Layout, Ports
from services.devstack.errors import DevstackError
from services.devstack.postgres import DATABASE
from services.devstack.probes import mongo_ready
from services.devstack.process import say
from services.devstack.server import Status

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
#: Sources whose change means the cached binary is out of date.
SOURCES = ("go.mod", "go.sum", "main.go")


class FerretDB:
    """The ``ferretdb`` server, a MongoDB endpoint storing in PostgreSQL database ``ferretdb``."""

    name = "ferretdb"

    def __init__(self, layout: Layout, ports: Ports) -> None:
        self.ports = ports
        self.src = layout.deploy / "ferretdb"
        self.binary = layout.cache / "ferretdb" / "ferretdb"
        self.stamp = layout.cache / "ferretdb" / "sources.sha256"
        self.pid_file = layout.run / "ferretdb.pid"
        self.log = layout.logs / "ferretdb.log"
        self.build_log = layout.logs / "ferretdb-build.log"

    @property
    def uri(self) -> str:
        return f"mongodb://{HOST}:{self.ports.mongodb}/"

    @property
    def postgresql_url(self) -> str:
        """Pool of 250: FerretDB v1 holds one connection per statement of a bulk write."""
        return f"postgres://postgres@{HOST}:{self.ports.postgres}/{DATABASE}?pool_max_conns=250"

    def missing(self) -> list[str]:
        if not self._needs_build():
            return []  # the cached binary is current: no Go needed
        problem = _go_problem(_required_go(self.src / "go.mod"))
        return [problem] if problem else []

    def prepare(self) -> None:
        if not self._needs_build():
            return
        say("ferretdb: building with Go (once; about 70 s)")
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        partial = self.binary.with_name("ferretdb.partial")
        process.run(
            ["go", "build", "-buildvcs=false", "-trimpath", "-o", str(partial), "."],
            cwd=self.src,
            log=self.build_log,
        )
        partial.replace(self.binary)
        self.stamp.write_text(self._digest() + "\n")

    def conflicts(self) -> list[str]:
        if self._pid() is not None or not process.port_open(HOST, self.ports.mongodb):
            return []
        return [
            f"port {self.ports.mongodb} is taken by a program other than this FerretDB "
            "(a MongoDB?): stop it, or choose another port with MONGODB_PORT=..."
        ]

    def start(self) -> int:
        pid = self._pid()
        if pid is not None:
            say(f"ferretdb: already running (pid {pid})")
            return pid
        if problems := self.conflicts():
            raise DevstackError("\n".join(problems))
        say(f"ferretdb: starting on {HOST}:{self.ports.mongodb}")
        cmd = [
            str(self.binary),
            f"-listen-addr={HOST}:{self.ports.mongodb}",
            f"-postgresql-url={self.postgresql_url}",
        ]
        return process.spawn(cmd, log=self.log, pid_file=self.pid_file, cwd=self.binary.parent)

    def wait(self, pid: int) -> None:
        process.wait_ready(
            self._probe, name="ferretdb", timeout=START_TIMEOUT, log=self.log, pid=pid
        )
        say(f"ferretdb: ready on {HOST}:{self.ports.mongodb}")

    def stop(self) -> None:
        pid = self._pid()
        if pid is not None:
            process.stop_pid(pid, name="ferretdb", timeout=STOP_TIMEOUT)
        self.pid_file.unlink(missing_ok=True)

    def status(self) -> Status:
        pid = self._pid()
        ready = pid is not None and self._probe() is None
        return Status(self.name, pid, f"{HOST}:{self.ports.mongodb}", ready)

    def _pid(self) -> int | None:
        """Our server's pid; the marker is the cached binary's path, unique per state dir."""
        return process.find_server(self.pid_file, str(self.binary))

    def _probe(self) -> str | None:
        return mongo_ready(HOST, self.ports.mongodb)

    def _digest(self) -> str:
        return process.digest(*(self.src / name for name in SOURCES))

    def _needs_build(self) -> bool:
        """True unless the cached binary was built from the current sources."""
        return not (self.binary.is_file() and process.stamp_matches(self.stamp, self._digest()))


def _required_go(go_mod: Path) -> tuple[int, ...]:
    """The minimum Go version from go.mod's ``go`` line (FerretDB 1.24 needs 1.24)."""
    match = re.search(r"^go (\d+(?:\.\d+)*)", go_mod.read_text(), re.MULTILINE)
    return _version(match[1]) if match else (1,)


def _go_problem(required: tuple[int, ...]) -> str | None:
    """Why the Go toolchain here cannot build FerretDB, or None if it can."""
    wanted = ".".join(map(str, required))
    advice = f"Go {wanted}+ (`go`), needed once to build FerretDB (Debian's golang-go is older)"
    go = shutil.which("go")
    if go is None:
        return f"{advice}: `go` is not on PATH"
    result = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False)
    found = _version(result.stdout.strip().removeprefix("go"))
    if found < required:
        return f"{advice}: {go} is Go {'.'.join(map(str, found))}"
    return None


def _version(text: str) -> tuple[int, ...]:
    """``1.26.8`` -> (1, 26, 8); ``1.22rc1`` -> (1, 22): the leading dotted numbers only."""
    match = re.match(r"\d+(?:\.\d+)*", text)
    return tuple(int(n) for n in match[0].split(".")) if match else (0,)
