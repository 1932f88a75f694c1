"""The policy in force, and the watch that notices when its file changes (no restart).

The file is the seed: it is in force until a change is read from the config topic. A change
to the file while the router runs is published there too, so every replica takes it.
"""

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import structlog
from pydantic import ValidationError

from contracts.admin import PolicyChanged
from router.policy import Policy, PolicyError, describe, load_policy


@dataclass(frozen=True)
class Outcome:
    """What applying one change from the config topic did."""

    taken: bool
    refusal: Literal["conflict", "invalid", "unpublished"] | None = None
    reason: str = ""


TAKEN = Outcome(taken=True)


class PolicyHolder:
    """Holds the last good policy. A bad file offered while running is logged and ignored."""

    def __init__(self, path: Path, logger: structlog.stdlib.BoundLogger) -> None:
        self.path = path
        self._log = logger.bind(policy_path=str(path))
        self._signature = self._stat()
        self.current: Policy = load_policy(path)  # a bad file at start refuses to start
        self.loaded_at = datetime.now(UTC)
        self.source: Literal["file", "api"] = "file"
        self.changed_by: str | None = None
        self.published: str | None = None
        """Version of the last change taken from the config topic: what a conditional change
        is checked against, so replicas started from different files still decide alike."""
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

    def changed_file(self) -> Policy | None:
        """The file's policy when the file changed to a valid policy other than the one in
        force; a bad file is refused (named in `rejected`) and changes nothing."""
        signature = self._stat()
        if signature == self._signature:
            return None
        self._signature = signature
        try:
            # `rejected` is shown to every role: it says "file"; the log names the path.
            candidate = load_policy(self.path, source="file")
        except PolicyError as error:
            self.rejected = str(error)
            self._log.error(
                "policy change rejected, last good version stays in force",
                policy_version=self.current.version,
                error=str(error),
            )
            return None
        self.rejected = None
        return None if candidate.version == self.current.version else candidate

    def forget_file(self) -> None:
        """Look at the file afresh next time (its change could not be shared)."""
        self._signature = None

    def check(self) -> bool:
        """Take a changed file in this process only; True when a new version came into force."""
        candidate = self.changed_file()
        if candidate is None:
            return False
        self._adopt(candidate, "file", None)
        return True

    def apply(self, change: PolicyChanged) -> Outcome:
        """A change read from the config topic. Every replica reads the same changes in the
        same order and judges them by the topic alone, so each decides the same: a change made
        against a version that another change replaced is refused everywhere. (The first
        change has only the seed file to go by, which the replica that took the request
        checked; replicas may have been started with different files.)"""
        expected, published = change.expected_version, self.published
        if expected is not None and published is not None and expected != published:
            reason = f"version {expected} is no longer in force (now {published})"
            return Outcome(taken=False, refusal="conflict", reason=reason)
        try:
            policy = Policy.model_validate(change.policy)
        except ValidationError as error:
            return Outcome(taken=False, refusal="invalid", reason=describe(error))
        self.published = policy.version
        if policy.version != self.current.version:
            self._adopt(policy, change.source, change.actor)
        return TAKEN

    def _adopt(self, policy: Policy, source: Literal["file", "api"], by: str | None) -> None:
        previous, self.current = self.current.version, policy
        self.loaded_at = datetime.now(UTC)
        self.source, self.changed_by = source, by
        self._log.info(
            "policy changed",
            previous_version=previous,
            policy_version=policy.version,
            source=source,
            changed_by=by,
        )

    async def watch(
        self, interval_s: float, share: Callable[[Policy], Awaitable[object]] | None
    ) -> None:
        while True:
            await asyncio.sleep(interval_s)
            if share is None:
                self.check()
                continue
            candidate = self.changed_file()
            if candidate is None:
                continue
            try:
                await share(candidate)
            except Exception as error:
                self._log.warning("policy file change not shared yet", error=repr(error))
                self.forget_file()


def watching(
    holder: PolicyHolder,
    interval_s: float,
    share: Callable[[Policy], Awaitable[object]] | None = None,
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """A lifespan step: poll the policy file in the background; a change is handed to `share`
    (published for every replica), or taken in this process when there is none."""

    @asynccontextmanager
    async def step() -> AsyncIterator[None]:
        task = asyncio.create_task(holder.watch(interval_s, share), name="policy-watch")
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    return step
