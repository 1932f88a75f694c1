"""Subscriptions and the live alert stream."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime

from contracts.ids import UNIT_ID_PATTERN
from contracts.registry import in_force
from notifier.models import Subscription, SubscriptionIn, WebhookDelivery
from notifier.service import SubscriptionCache
from notifier.settings import NotifierSettings
from notifier.store import (
    POSITION_PATTERN,
    AlertFeed,
    AlertLog,
    CannotResumeError,
    SubscriptionStore,
)
from notifier.stream import Allowed, HeldStream, StreamSlots, alert_events
from notifier.targets import AllowList, refuse_url
from services.audit import AuditTrail
from services.auth import AuthSettings, Principal, Role, bearer, forbid, require_read
from services.errors import FieldProblem, Refusal, Refused

SubscriptionIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{24}$")]


def create_router(
    store: SubscriptionStore,
    cache: SubscriptionCache,
    log: AlertLog,
    settings: NotifierSettings,
    clock: Callable[[], datetime],
    *,
    auth: AuthSettings,
    audit: AuditTrail,
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["notifier"])
    allow = settings.webhook_allow_list()
    slots = StreamSlots(
        settings.stream_max_per_token,
        settings.stream_max_per_process,
        settings.stream_retry_after_s,
    )
    Caller = Annotated[Principal, bearer(auth)]  # noqa: N806

    async def load(subscription_id: str, caller: Principal) -> Subscription:
        document = await store.get(subscription_id)
        if document is None:
            raise _no_subscription(subscription_id)
        require_supervision(caller, document["unit_id"])
        return Subscription.from_document(document)

    @router.post("/subscriptions", status_code=201)
    async def subscribe(caller: Caller, body: SubscriptionIn) -> dict[str, Any]:
        """Subscribe to alerts in a unit and everything below it. A webhook's signing secret
        is shown in this answer only; keep it to verify `X-Tiaojie-Signature`. A webhook
        must be a public http(s) address: loopback, private, link-local and metadata targets
        are refused unless the notifier's allow-list names them."""
        require_supervision(caller, body.unit_id)
        check_webhook_target(body, allow)
        subscription = Subscription.create(body, clock())
        await audit.record(
            caller,
            "subscription.create",
            unit_id=body.unit_id,
            details={"subscription_id": subscription.subscription_id},
        )
        await store.add(subscription.to_document())
        cache.put(subscription)
        view = subscription.public()
        if isinstance(subscription.delivery, WebhookDelivery):
            view["secret"] = subscription.delivery.secret
        return view

    @router.get("/subscriptions")
    async def list_subscriptions(
        caller: Caller,
        unit_id: Annotated[
            str | None,
            Query(pattern=UNIT_ID_PATTERN, description="Only those that cover this unit."),
        ] = None,
    ) -> list[dict[str, Any]]:
        require_supervision(caller, caller.unit_id)
        subscriptions = [
            Subscription.from_document(d)
            for d in await store.all()
            if caller.can_read_unit(d["unit_id"])
        ]
        if unit_id is not None:
            subscriptions = [s for s in subscriptions if in_force().is_within(unit_id, s.unit_id)]
        subscriptions.sort(key=lambda s: (s.created_at, s.subscription_id))
        return [s.public() for s in subscriptions]

    @router.get("/subscriptions/{subscription_id}")
    async def get_subscription(
        caller: Caller, subscription_id: SubscriptionIdPath
    ) -> dict[str, Any]:
        return (await load(subscription_id, caller)).public()

    @router.delete("/subscriptions/{subscription_id}", status_code=204)
    async def unsubscribe(caller: Caller, subscription_id: SubscriptionIdPath) -> Response:
        subscription = await load(subscription_id, caller)
        await audit.record(
            caller,
            "subscription.delete",
            unit_id=subscription.unit_id,
            details={"subscription_id": subscription_id},
        )
        if not await store.delete(subscription_id):
            raise _no_subscription(subscription_id)
        cache.remove(subscription_id)
        return Response(status_code=204)

    async def open_feed(
        subscription: Subscription, last_event_id: str | None, since: datetime | None
    ) -> tuple[AlertFeed, str | None]:
        """The feed from where the client asked, or from now after a `gap` when it cannot."""
        wait_s = settings.stream_heartbeat_s
        start = max(since, subscription.created_at) if since else subscription.created_at
        try:
            return await log.follow(last_event_id or start, wait_s), None
        except CannotResumeError:
            gap_from = last_event_id or start.isoformat()
            return await log.follow(clock(), wait_s), gap_from

    @router.get("/alerts/stream")
    async def stream(
        caller: Caller,
        subscription_id: Annotated[str, Query(pattern=r"^[0-9a-f]{24}$")],
        last_event_id: Annotated[
            str | None, Header(alias="Last-Event-ID", pattern=POSITION_PATTERN)
        ] = None,
        since: Annotated[
            AwareDatetime | None,
            Query(description="Start at this moment rather than at the subscription's creation."),
        ] = None,
    ) -> HeldStream:
        """The subscription's alerts as Server-Sent Events. Without `Last-Event-ID` the stream
        starts at the subscription's creation (or at `since`, when later: a reader that has
        already read the history up to then); with it, right after that event. Where the log
        no longer reaches that far back, the stream starts now with a `gap` event first. A token
        holds at most `stream_max_per_token` streams at once, the process
        `stream_max_per_process`: past that, 429 with Retry-After."""
        subscription = await load(subscription_id, caller)
        release = slots.take(caller.token_id)
        try:
            feed, gap_from = await open_feed(subscription, last_event_id, since)
        except BaseException:
            release()
            raise
        events = alert_events(
            feed, subscription, settings.stream_max_s, gap_from, reading_allowed(auth, caller)
        )
        return HeldStream(events, feed, release)

    return router


def reading_allowed(auth: AuthSettings, caller: Principal) -> Allowed:
    """A live stream outlives the request that opened it: the checks every request gets are
    made again while it runs (a disabled account, a unit no longer in the registry)."""

    async def allowed() -> bool:
        try:
            await auth.check_session(caller)
            auth.check_known(caller)
        except Refused:
            return False
        return True

    return allowed


def require_supervision(caller: Principal, unit_id: str) -> None:
    """Alerts and subscriptions are for supervisors of the unit's subtree, and admins."""
    if caller.role not in {Role.SUPERVISOR, Role.ADMIN}:
        raise forbid(
            Refusal.ROLE_NOT_ALLOWED,
            f"role {caller.role.value} may not read alerts or subscriptions",
            role=caller.role.value,
            allowed_roles=[Role.SUPERVISOR.value, Role.ADMIN.value],
        )
    require_read(caller, unit_id)


def check_webhook_target(body: SubscriptionIn, allow: AllowList) -> None:
    """A 422 on the url field, in the shape of every other refused field, for a target the
    notifier must not reach (notifier/targets.py)."""
    if not isinstance(body.delivery, WebhookDelivery):
        return
    refused = refuse_url(str(body.delivery.url), allow)
    if refused is None:
        return
    problem = {
        "type": FieldProblem.WEBHOOK_TARGET_REFUSED.value,
        "loc": ("body", "delivery", "webhook", "url"),
        "msg": f"webhook target refused: {refused.message}",
        "ctx": {"host": refused.host, "why": refused.why.value},
    }
    raise RequestValidationError([problem])


def _no_subscription(subscription_id: str) -> Refused:
    message = f"no subscription {subscription_id}"
    return Refused(404, Refusal.SUBSCRIPTION_NOT_FOUND, message, subscription_id=subscription_id)
