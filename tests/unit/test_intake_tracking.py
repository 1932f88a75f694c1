"""Tracking numbers: the next block is claimed while the current one lasts."""

import asyncio
from datetime import UTC, datetime

from pymongo.errors import AutoReconnect

from intake.tracking import TrackingNumbers
from tests.fakes import InMemoryIntakeStore
from tests.waiting import eventually

NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


class HeldBlocks(InMemoryIntakeStore):
    """Block claims wait for `open`; `failures` fail the next claims."""

    def __init__(self) -> None:
        super().__init__()
        self.open = asyncio.Event()
        self.open.set()
        self.claims: list[int] = []
        self.failures: list[Exception] = []

    async def claim_block(self, day: str, block: int) -> bool:
        self.claims.append(block)
        await self.open.wait()
        if self.failures:
            raise self.failures.pop(0)
        return await super().claim_block(day, block)


def serial(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


async def test_the_next_block_is_claimed_ahead_and_used_when_this_one_ends() -> None:
    store = HeldBlocks()
    numbers = TrackingNumbers(store, "HY", 4)
    assert serial(await numbers.next(NOW)) == 1

    async def claimed_ahead() -> bool:
        return "HY-20261122|000001" in store.collections.get("blocks", {})

    await eventually(claimed_ahead, timeout_s=5, what="block 1 claimed ahead")
    store.open.clear()  # from now on a claim would wait: the numbers below must not need one
    rest = [serial(await numbers.next(NOW)) for _ in range(7)]
    assert rest == [2, 3, 4, 5, 6, 7, 8]
    assert store.claims in ([0, 1], [0, 1, 2])  # block 2 only being claimed ahead, if at all

    async def claiming_next() -> bool:
        return store.claims == [0, 1, 2]

    await eventually(claiming_next, timeout_s=5, what="block 2 claimed ahead")
    store.open.set()


async def test_a_failed_claim_ahead_is_claimed_again_by_the_caller_who_needs_it() -> None:
    store = HeldBlocks()
    numbers = TrackingNumbers(store, "HY", 2)
    assert serial(await numbers.next(NOW)) == 1
    store.failures = [AutoReconnect("connection closed")]  # the claim ahead fails
    assert serial(await numbers.next(NOW)) == 2
    assert serial(await numbers.next(NOW)) == 3  # block 1, claimed by this caller
    assert store.claims[:3] == [0, 1, 1]
