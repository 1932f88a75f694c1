"""Server-Sent Events: a subscription's alerts from the alert log, resumable by Last-Event-ID."""

import json
import time
from collections.abc import AsyncIterator

from contracts.events import AlertRaised
from notifier import rules
from notifier.models import Subscription
from notifier.store import AlertFeed

RETRY_MS = 3000


def sse_event(position: str, alert: dict[str, object]) -> str:
    data = json.dumps(alert, ensure_ascii=False, separators=(",", ":"))
    return f"id: {position}\nevent: alert\ndata: {data}\n\n"


def sse_gap(since: str) -> str:
    """Said first when the stream cannot start where asked: alerts before now may be missing."""
    data = json.dumps({"reason": "history_lost", "asked_for": since}, separators=(",", ":"))
    return f"event: gap\ndata: {data}\n\n"


async def alert_events(
    feed: AlertFeed, subscription: Subscription, max_s: float, gap_from: str | None = None
) -> AsyncIterator[str]:
    """Every matching alert in the feed, in commit order, for at most `max_s`; a comment
    whenever the feed was quiet for its wait, so proxies keep an idle stream open."""
    try:
        yield f"retry: {RETRY_MS}\n\n"
        if gap_from is not None:
            yield sse_gap(gap_from)
        started = time.monotonic()
        while time.monotonic() - started < max_s:
            logged = await feed.next()
            if logged is None:
                yield ": keep-alive\n\n"
            elif rules.matches(subscription, AlertRaised.model_validate(logged.alert)):
                yield sse_event(logged.position, logged.alert)
    finally:
        await feed.close()
