"""Where things live and which ports they use: the one place both are decided.

Everything the dev stack writes goes under one git-ignored directory (``.devstack/`` at the
repository root, or ``$DEVSTACK_HOME``) so a clean start is ``rm -rf .devstack`` and nothing
leaks into the user's home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from services.devstack.errors import DevstackError

#: Loopback only: these servers have no authentication and must never face a network.
HOST = "127.0.0.1"

#: Repository root, found from this file so the command works from any working directory.
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Ports:
    """TCP ports of the servers; each can be moved with an environment variable."""

    kafka: int
    kafka_controller: int
    mongodb: int

    @classmethod
    def from_env(cls) -> Ports:
        """Read ``KAFKA_PORT``, ``KAFKA_CONTROLLER_PORT``, ``MONGODB_PORT``."""
        return cls(
            kafka=_port("KAFKA_PORT", 9092),
            kafka_controller=_port("KAFKA_CONTROLLER_PORT", 9093),
            mongodb=_port("MONGODB_PORT", 27017),
        )


def _port(name: str, default: int) -> int:
    """Parse a port variable, failing with its name rather than a bare ``ValueError``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise DevstackError(f"{name}={raw!r} is not a TCP port number (1-65535)")
    return int(raw)


@dataclass(frozen=True)
class Layout:
    """Paths of the sources in ``deploy/local`` and of the state under ``.devstack``.

    ``cache`` survives a reset (downloaded jars, built server); ``data`` and ``logs`` do not;
    ``run`` holds pid files and the configuration rendered for the current ports.
    """

    repo: Path
    home: Path
    cache: Path

    @classmethod
    def from_env(cls) -> Layout:
        """``$DEVSTACK_HOME`` moves the state, e.g. for a second stack on other ports; the cache
        stays in the checkout's ``.devstack/cache`` (``$DEVSTACK_CACHE`` moves it), so a second
        stack does not build the database server again."""
        default = REPO_ROOT / ".devstack"
        home = os.environ.get("DEVSTACK_HOME", "").strip()
        cache = os.environ.get("DEVSTACK_CACHE", "").strip()
        return cls(
            repo=REPO_ROOT,
            home=Path(home).resolve() if home else default,
            cache=Path(cache).resolve() if cache else default / "cache",
        )

    @property
    def deploy(self) -> Path:
        """Checked-in recipes: ``deploy/local/{kafka,secantus}``."""
        return self.repo / "deploy" / "local"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def run(self) -> Path:
        return self.home / "run"

    def make_dirs(self) -> None:
        """Create the state directories."""
        for path in (self.home, self.cache, self.data, self.logs, self.run):
            path.mkdir(parents=True, exist_ok=True)
