"""Server-Sent Events: a subscription's alerts from the alert log, resumable by Last-Event-ID."""

import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import status
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from contracts.events import AlertRaised
from notifier import rules
from notifier.models import Subscription
from notifier.store import AlertFeed
from services.errors import Refusal, Refused

RETRY_MS = 3000


def sse_event(position: str, alert: dict[str, object]) -> str:
    data = json.dumps(alert, ensure_ascii=False, separators=(",", ":"))
    return f"id: {position}\nevent: alert\ndata: {data}\n\n"


def sse_gap(since: str) -> str:
    """Said first when the stream cannot start where asked: alerts before now may be missing."""
    data = json.dumps({"reason": "history_lost", "asked_for": since}, separators=(",", ":"))
    return f"event: gap\ndata: {data}\n\n"


Allowed = Callable[[], Awaitable[bool]]
"""Whether the reader may still read: their account was not disabled, nor their unit retired."""


async def always() -> bool:
    return True


async def alert_events(
    feed: AlertFeed,
    subscription: Subscription,
    max_s: float,
    gap_from: str | None = None,
    still_allowed: Allowed = always,
) -> AsyncIterator[str]:
    """Every matching alert in the feed, in commit order, for at most `max_s`; a comment
    whenever the feed was quiet for its wait, so proxies keep an idle stream open. The stream
    ends as soon as its reader may no longer read it (checked at every event and heartbeat)."""
    try:
        yield f"retry: {RETRY_MS}\n\n"
        if gap_from is not None:
            yield sse_gap(gap_from)
        started = time.monotonic()
        while time.monotonic() - started < max_s:
            logged = await feed.next()
            if not await still_allowed():
                return
            if logged is None:
                yield ": keep-alive\n\n"
            elif rules.matches(subscription, AlertRaised.model_validate(logged.alert)):
                yield sse_event(logged.position, logged.alert)
    finally:
        await feed.close()


@dataclass
class StreamSlots:
    """How many live streams this process holds, per token and in all: each one keeps a change
    stream open on the database, so one caller must not hold hundreds of them."""

    per_token: int
    per_process: int
    retry_after_s: int
    _held: Counter[str] = field(default_factory=Counter)

    @property
    def held(self) -> int:
        return self._held.total()

    def take(self, token_id: str) -> Callable[[], None]:
        """A slot for one more stream of `token_id`, or 429; returns the slot's release."""
        if self._held[token_id] >= self.per_token:
            raise self._refusal("per_token", self.per_token, "this token")
        if self.held >= self.per_process:
            raise self._refusal("per_process", self.per_process, "this notifier")
        self._held[token_id] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._held[token_id] -= 1
                if self._held[token_id] <= 0:
                    del self._held[token_id]

        return release

    def _refusal(self, scope: str, limit: int, holder: str) -> Refused:
        return Refused(
            status.HTTP_429_TOO_MANY_REQUESTS,
            Refusal.TOO_MANY_STREAMS,
            f"too many live streams: {holder} already holds {limit}, the most allowed "
            f"({scope.replace('_', ' ')}); close one first",
            headers={"Retry-After": str(self.retry_after_s)},
            limit=limit,
            scope=scope,
            retry_after_s=self.retry_after_s,
        )


class HeldStream(StreamingResponse):
    """An event stream that gives back its slot and closes its feed however it ends: finished,
    the client gone (even before the first event), or the server shutting down."""

    def __init__(self, events: AsyncIterator[str], feed: AlertFeed, release: Callable[[], None]):
        super().__init__(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._feed = feed
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
            await self._feed.close()
