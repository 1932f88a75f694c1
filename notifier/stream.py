"""Server-Sent Events: a subscription's alerts from the alert log, resumable by Last-Event-ID."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from contracts.events import AlertRaised
from notifier import rules
from notifier.models import Subscription
from notifier.settings import NotifierSettings
from notifier.store import AlertLog, StreamIds

PAGE = 100
RETRY_MS = 3000


def sse_event(stream_id: str, alert: dict[str, object]) -> str:
    data = json.dumps(alert, ensure_ascii=False, separators=(",", ":"))
    return f"id: {stream_id}\nevent: alert\ndata: {data}\n\n"


async def alert_events(
    log: AlertLog,
    subscription: Subscription,
    cursor: str,
    settings: NotifierSettings,
    clock: Callable[[], datetime],
) -> AsyncIterator[str]:
    """Every matching alert logged after `cursor`, in log order, then new ones as they come.

    The log is read only up to `stream_settle_s` ago: a writer that took an id just before
    another's but stored it just after is still read in order, not skipped by the cursor.
    """
    yield f"retry: {RETRY_MS}\n\n"
    quiet_since = started = time.monotonic()
    while time.monotonic() - started < settings.stream_max_s:
        horizon = StreamIds.floor(clock() - timedelta(seconds=settings.stream_settle_s))
        page = await log.after(cursor, horizon, PAGE)
        for document in page:
            cursor = document["_id"]
            alert = AlertRaised.model_validate(document["alert"])
            if rules.matches(subscription, alert):
                yield sse_event(cursor, document["alert"])
                quiet_since = time.monotonic()
        if len(page) == PAGE:
            continue
        if time.monotonic() - quiet_since >= settings.stream_heartbeat_s:
            yield ": keep-alive\n\n"  # keeps proxies from closing an idle stream
            quiet_since = time.monotonic()
        await asyncio.sleep(settings.stream_poll_s)
