"""The periodic sweeps: deadlines that passed and events a crash left in an outbox."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

import structlog

from mediation.service import CaseService
from mediation.settings import MediationSettings


async def sweep_forever(
    cases: CaseService, settings: MediationSettings, logger: structlog.stdlib.BoundLogger
) -> None:
    next_outbox = 0.0
    while True:
        try:
            await cases.sweep_deadlines(settings.sweep_batch, settings.sweep_lookback_s)
            if time.monotonic() >= next_outbox:
                await cases.relay_stale(settings.outbox_grace_s, settings.sweep_batch)
                next_outbox = time.monotonic() + settings.outbox_sweep_interval_s
        except Exception as error:  # a sweep must outlive a broker or database hiccup
            logger.warning("sweep failed, will retry", error=repr(error))
        await asyncio.sleep(settings.sweep_interval_s)


def running_sweeper(
    cases: CaseService, settings: MediationSettings, logger: structlog.stdlib.BoundLogger
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """A lifespan step: the sweeper runs while the service does (after the broker started)."""

    @asynccontextmanager
    async def step() -> AsyncIterator[None]:
        task = asyncio.create_task(sweep_forever(cases, settings, logger))
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    return step
