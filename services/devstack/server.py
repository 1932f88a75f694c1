"""What every managed server offers the command, and how its state is reported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Status:
    """One server's state for ``status``: running means our process is alive *and* answers."""

    name: str
    pid: int | None
    endpoint: str
    ready: bool

    def line(self) -> str:
        """A fixed-width line, e.g. ``kafka     running  pid 4242    127.0.0.1:9092``."""
        if self.pid is None:
            state, pid = "stopped", "-"
        else:
            state, pid = ("running" if self.ready else "not-ready"), str(self.pid)
        return f"{self.name:<9} {state:<9} pid {pid:<8} {self.endpoint}"


class Server(Protocol):
    """A local server: prepared (fetched/built/installed), started, awaited, stopped."""

    name: str

    def missing(self) -> list[str]:
        """Prerequisites absent from this machine, each as advice a person can act on."""

    def conflicts(self) -> list[str]:
        """Ports this server needs that another program holds (empty if ours runs)."""

    def prepare(self) -> None:
        """Fetch, build or install what is not cached yet; slow only the first time."""

    def start(self) -> int:
        """Start the server unless it already runs; return its pid without waiting."""

    def wait(self, pid: int) -> None:
        """Return once the server answers real requests; raise DevstackError otherwise."""

    def stop(self) -> None:
        """Stop the server if it runs; do nothing otherwise."""

    def status(self) -> Status:
        """The current state, cheaply (no start, no wait)."""
