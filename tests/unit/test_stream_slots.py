"""Live-stream slots: a cap per token and per process, 429 with Retry-After past either."""

import pytest

from notifier.stream import StreamSlots
from services.errors import Refusal, Refused


def refused(slots: StreamSlots, token_id: str) -> Refused:
    with pytest.raises(Refused) as error:
        slots.take(token_id)
    return error.value


def test_a_token_holds_at_most_its_cap_and_others_still_get_one() -> None:
    slots = StreamSlots(per_token=2, per_process=10, retry_after_s=7)
    slots.take("a")
    slots.take("a")
    error = refused(slots, "a")
    assert (error.status_code, error.code) == (429, Refusal.TOO_MANY_STREAMS)
    assert error.headers == {"Retry-After": "7"}
    assert error.params == {"limit": 2, "scope": "per_token", "retry_after_s": 7}
    assert "this token already holds 2" in error.detail
    slots.take("b")
    assert slots.held == 3


def test_the_process_cap_counts_every_token() -> None:
    slots = StreamSlots(per_token=5, per_process=3, retry_after_s=1)
    for token_id in ("a", "b", "c"):
        slots.take(token_id)
    error = refused(slots, "d")
    assert error.params["scope"] == "per_process"
    assert "this notifier already holds 3" in error.detail


def test_releasing_frees_the_slot_once() -> None:
    slots = StreamSlots(per_token=1, per_process=10, retry_after_s=1)
    release = slots.take("a")
    release()
    release()  # a second release (feed closed, then the response ends) gives back nothing more
    assert slots.held == 0
    slots.take("a")
    refused(slots, "a")
