import pytest
from fastapi import HTTPException

from services.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=2, burst=3, clock=clock)
    assert [limiter.check("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.check("a") == pytest.approx(0.5)
    assert limiter.check("b") == 0  # callers do not share buckets
    clock.now = 0.5
    assert limiter.check("a") == 0


def test_enforce_answers_429_with_retry_after() -> None:
    limiter = RateLimiter(rate_per_s=0.1, burst=1, clock=FakeClock())
    limiter.enforce("a")
    with pytest.raises(HTTPException) as refused:
        limiter.enforce("a")
    assert refused.value.status_code == 429
    assert refused.value.headers == {"Retry-After": "10"}
