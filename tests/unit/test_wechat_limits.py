"""The WeChat bot's limits: each group on its own, and the bot over all of them."""

import pytest

from intake.api import WeChatLimits
from services.errors import Refused
from services.ratelimit import RateLimiter


def limits(group_burst: int, bot_burst: int) -> WeChatLimits:
    frozen = lambda: 0.0  # noqa: E731 (no refill: the bursts alone decide)
    return WeChatLimits(
        RateLimiter(1.0, group_burst, clock=frozen), RateLimiter(1.0, bot_burst, clock=frozen)
    )


def scope_of_refusal(limit: WeChatLimits, group_id: str) -> str:
    with pytest.raises(Refused) as refused:
        limit.enforce("bot", group_id)
    assert refused.value.status_code == 429
    assert refused.value.headers == {"Retry-After": "1"}
    scope: str = refused.value.params["scope"]
    return scope


def test_a_flooding_group_does_not_use_up_what_the_bot_has_for_the_others() -> None:
    limit = limits(group_burst=2, bot_burst=4)
    limit.enforce("bot", "a")
    limit.enforce("bot", "a")
    for _ in range(10):
        assert scope_of_refusal(limit, "a") == "group a"
    limit.enforce("bot", "b")
    limit.enforce("bot", "b")
    assert scope_of_refusal(limit, "c") == "bot bot"
