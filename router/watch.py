"""The policy in force, and the watch that swaps it when its file changes (no restart)."""

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import structlog

from router.policy import Policy, PolicyError, load_policy


class PolicyHolder:
    """Holds the last good policy. A bad file offered while running is logged and ignored."""

    def __init__(self, path: Path, logger: structlog.stdlib.BoundLogger) -> None:
        self.path = path
        self._log = logger.bind(policy_path=str(path))
        self._signature = self._stat()
        self.current: Policy = load_policy(path)  # a bad file at start refuses to start
        self.loaded_at = datetime.now(UTC)
        self.rejected: str | None = None
        """Why the newest file was refused, while the last good version stays in force."""
        self._log.info("policy loaded", policy_version=self.current.version)

    def _stat(self) -> tuple[int, int, str] | None:
        """Modification time, size and a digest of the bytes: a rewrite within the file
        system's timestamp granularity keeps the mtime, and the file is small to read."""
        try:
            status = self.path.stat()
            digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None
        return (status.st_mtime_ns, status.st_size, digest)

    def check(self) -> bool:
        """Reload if the file changed; True when a new version came into force."""
        signature = self._stat()
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            candidate = load_policy(self.path)
        except PolicyError as error:
            self.rejected = str(error)
            self._log.error(
                "policy change rejected, last good version stays in force",
                policy_version=self.current.version,
                error=str(error),
            )
            return False
        self.rejected = None
        if candidate.version == self.current.version:
            return False
        previous, self.current = self.current.version, candidate
        self.loaded_at = datetime.now(UTC)
        self._log.info(
            "policy changed", previous_version=previous, policy_version=candidate.version
        )
        return True

    async def watch(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            self.check()


def watching(
    holder: PolicyHolder, interval_s: float
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """A lifespan step: poll the policy file's modification time in the background."""

    @asynccontextmanager
    async def step() -> AsyncIterator[None]:
        task = asyncio.create_task(holder.watch(interval_s), name="policy-watch")
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    return step
