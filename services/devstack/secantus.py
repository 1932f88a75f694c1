"""SecantusDB: a single-node MongoDB-compatible server on WiredTiger, installed from a registry.

MongoDB itself is in no registry this machine reaches. SecantusDB speaks the same wire protocol,
advertises a one-node replica set (so transactions and change streams work with a plain URI) and
comes in two builds, chosen with ``DEVSTACK_SECANTUS``:

- ``rust`` (default): ``secantusd-rs`` from crates.io, built once with cargo (about 4 minutes on
  two cores) and cached; the faster server (README, "The local servers, without Docker").
- ``python``: ``secantusd-py`` from PyPI in a virtualenv of its own (about 20 s to install).

Both are pinned in ``deploy/local/secantus/pins.env``. It is GPL-2.0, so it runs as a separate
process and no service imports it.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from services.devstack import process
from services.devstack.config import HOST, Layout, Ports
from services.devstack.errors import DevstackError
from services.devstack.probes import mongo_ready
from services.devstack.process import say
from services.devstack.server import Status

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0  # a clean stop flushes WiredTiger: about 4 s
CACHE_SIZE = "512M"
FLAVOURS = ("rust", "python")


@dataclass(frozen=True)
class Pins:
    """The versions in ``pins.env``."""

    python_package: str
    rust_crate: str
    rust_version: str

    @classmethod
    def read(cls, path: Path) -> Pins:
        values = dict(
            line.split("=", 1)
            for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        )
        return cls(values["PYTHON_PACKAGE"], values["RUST_CRATE"], values["RUST_VERSION"])


class SecantusDB:
    """The ``secantusd`` server on ``MONGODB_PORT``, its data under ``data/secantus``."""

    name = "secantus"

    def __init__(self, layout: Layout, ports: Ports, flavour: str | None = None) -> None:
        self.ports = ports
        self.flavour = flavour or os.environ.get("DEVSTACK_SECANTUS", "").strip() or "rust"
        if self.flavour not in FLAVOURS:
            raise DevstackError(
                f"DEVSTACK_SECANTUS={self.flavour!r}: choose one of {', '.join(FLAVOURS)}"
            )
        self.pins_file = layout.deploy / "secantus" / "pins.env"
        self.root = layout.cache / f"secantus-{self.flavour}"
        self.stamp = self.root / "pins.sha256"
        self.data = layout.data / "secantus"
        self.pid_file = layout.run / "secantus.pid"
        self.log = layout.logs / "secantus.log"
        self.install_log = layout.logs / "secantus-install.log"

    @property
    def uri(self) -> str:
        return f"mongodb://{HOST}:{self.ports.mongodb}/"

    @property
    def binary(self) -> Path:
        if self.flavour == "rust":
            return self.root / "bin" / "secantusd-rs"
        return self.root / "bin" / "secantusd-py"

    def missing(self) -> list[str]:
        if not self._needs_install() or self.flavour == "python":
            return []
        if shutil.which("cargo") is None:
            return [
                "Rust's `cargo`, needed once to build SecantusDB "
                "(or set DEVSTACK_SECANTUS=python to install the Python server from PyPI)"
            ]
        return []

    def prepare(self) -> None:
        if not self._needs_install():
            return
        pins = Pins.read(self.pins_file)
        shutil.rmtree(self.root, ignore_errors=True)
        if self.flavour == "rust":
            say("secantus: building the Rust server with cargo (once; about 4 minutes)")
            cmd = ["cargo", "install", pins.rust_crate, "--version", pins.rust_version]
            cmd += ["--locked", "--ignore-rust-version", "--root", str(self.root)]
            process.run(cmd, log=self.install_log)
        else:
            say("secantus: installing the Python server from PyPI (once; about 20 s)")
            process.run([sys.executable, "-m", "venv", str(self.root)], log=self.install_log)
            pip = [str(self.root / "bin" / "python"), "-m", "pip", "install", "-q"]
            process.run([*pip, pins.python_package], log=self.install_log)
        if not self.binary.is_file():
            raise DevstackError(f"{self.binary} missing after install; see {self.install_log}")
        self.stamp.write_text(self._digest() + "\n")

    def conflicts(self) -> list[str]:
        if self._pid() is not None or not process.port_open(HOST, self.ports.mongodb):
            return []
        return [
            f"port {self.ports.mongodb} is taken by a program other than this SecantusDB "
            "(a MongoDB?): stop it, or choose another port with MONGODB_PORT=..."
        ]

    def start(self) -> int:
        pid = self._pid()
        if pid is not None:
            say(f"secantus: already running (pid {pid})")
            return pid
        if problems := self.conflicts():
            raise DevstackError("\n".join(problems))
        say(f"secantus: starting the {self.flavour} server on {HOST}:{self.ports.mongodb}")
        self.data.mkdir(parents=True, exist_ok=True)
        cmd = [str(self.binary), "--host", HOST, "--port", str(self.ports.mongodb)]
        cmd += ["--storage-path", str(self.data), "--cache-size", CACHE_SIZE]
        return process.spawn(cmd, log=self.log, pid_file=self.pid_file, cwd=self.data)

    def wait(self, pid: int) -> None:
        process.wait_ready(
            self._probe, name="secantus", timeout=START_TIMEOUT, log=self.log, pid=pid
        )
        say(f"secantus: ready on {HOST}:{self.ports.mongodb}")

    def stop(self) -> None:
        pid = self._pid()
        if pid is not None:
            process.stop_pid(pid, name="secantus", timeout=STOP_TIMEOUT)
        self.pid_file.unlink(missing_ok=True)

    def status(self) -> Status:
        pid = self._pid()
        ready = pid is not None and self._probe() is None
        return Status(self.name, pid, f"{HOST}:{self.ports.mongodb}", ready)

    def _pid(self) -> int | None:
        """Our server's pid (of either build); the marker is the data path, unique per state
        dir."""
        return process.find_server(self.pid_file, f"--storage-path {self.data}")

    def _probe(self) -> str | None:
        return mongo_ready(HOST, self.ports.mongodb)

    def _digest(self) -> str:
        return process.digest(self.pins_file)

    def _needs_install(self) -> bool:
        """True unless the cached server was installed from the current pins."""
        return not (self.binary.is_file() and process.stamp_matches(self.stamp, self._digest()))
