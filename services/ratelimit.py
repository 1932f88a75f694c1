"""Per-caller token buckets, in process: a burst is allowed, a flood gets 429 with Retry-After.

Each replica limits on its own, so N replicas allow N times the rate; that bounds abuse well
enough for intake, where a shared store would put a write on every request.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import status

from services.errors import Refusal, Refused


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    rate_per_s: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def check(self, key: str) -> float:
        """Take one token for `key`; returns 0 when allowed, else seconds until the next one."""
        bucket = self._refilled(key)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate_per_s

    def waiting(self, key: str) -> float:
        """Like `check` without taking a token: for limits on failures only (a sign-in takes
        a token when it fails, so people who know their password are never held up)."""
        bucket = self._refilled(key)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate_per_s

    def _refilled(self, key: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.setdefault(key, _Bucket(tokens=float(self.burst), updated=now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate_per_s)
        bucket.updated = now
        return bucket

    def enforce(self, key: str, scope: str | None = None) -> None:
        """429 with Retry-After when `key` has no token; `scope` names whose limit it is."""
        wait_s = self.check(key)
        if wait_s > 0:
            retry_after_s = max(1, math.ceil(wait_s))
            whose = f" from {scope}" if scope else ""
            raise Refused(
                status.HTTP_429_TOO_MANY_REQUESTS,
                Refusal.TOO_MANY_REQUESTS,
                f"too many requests{whose}; slow down",
                headers={"Retry-After": str(retry_after_s)},
                retry_after_s=retry_after_s,
                **({"scope": scope} if scope else {}),
            )
