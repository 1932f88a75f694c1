"""The supervisor console: live alerts for a jurisdiction and the subscriptions behind them."""

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from contracts.events import AlertRaised
from contracts.ids import UNIT_ID_PATTERN
from contracts.registry import Registry, in_force
from contracts.vocabulary import AlertKind, Priority
from notifier import rules
from notifier.api import require_supervision
from notifier.models import StreamDelivery, Subscription, SubscriptionIn
from notifier.service import SubscriptionCache
from notifier.store import AlertLog, SubscriptionStore
from services.auth import AuthSettings, Principal, console_caller, keep_token
from services.web.i18n import Translator, pick_language
from services.web.render import Pages
from services.web.switch import switch_router
from services.web.unit_picker import unit_picker_router

CONSOLE_PREFIX = "console:"


HISTORY = 50
"""How many of the jurisdiction's latest alerts the console shows when it opens."""


def unit_labels(registry: Registry, translate: Translator, shown: Iterable[str]) -> dict[str, str]:
    """The names of the units the page shows at first (the unit, those above it and directly
    below it, its history's and its subscriptions' units), so a person reads names; the page
    asks its console for any other (a live alert's from further down) as it comes. Never the
    whole registry: it may hold tens of thousands."""
    units = (registry.unit(unit_id) for unit_id in shown)
    return {unit.id: translate.unit_name(unit) for unit in units if unit is not None}


async def history(log: AlertLog, stream: Subscription) -> list[dict[str, Any]]:
    """The latest alerts the console's stream would have shown, oldest first, so the page
    lists them in the order the live ones follow."""
    logged = await log.recent(stream.unit_id, HISTORY)
    kept = [alert for alert in logged if rules.matches(stream, AlertRaised.model_validate(alert))]
    return kept[::-1]


def create_console(
    store: SubscriptionStore,
    cache: SubscriptionCache,
    *,
    log: AlertLog,
    clock: Any,
    auth: AuthSettings,
) -> tuple[APIRouter, Pages]:
    pages = Pages(Path(__file__).with_name("templates"), console="supervisor")
    router = APIRouter(include_in_schema=False)
    router.include_router(switch_router(auth))
    router.include_router(unit_picker_router(auth, in_force))

    async def console_stream(unit_id: str) -> Subscription:
        """The console's own live-stream subscription for the unit, made on first visit."""
        name = f"{CONSOLE_PREFIX}{unit_id}"
        for document in await store.all():
            existing = Subscription.from_document(document)
            if existing.name == name and isinstance(existing.delivery, StreamDelivery):
                return existing
        created_at: datetime = clock()
        subscription = Subscription.create(
            SubscriptionIn(
                unit_id=unit_id,
                kinds=list(AlertKind),
                min_priority=Priority.NORMAL,
                delivery=StreamDelivery(type="sse"),
                name=name,
            ),
            created_at,
        )
        await store.add(subscription.to_document())
        cache.put(subscription)
        return subscription

    @router.get("/", response_class=HTMLResponse)
    async def supervisor(
        request: Request,
        caller: Annotated[Principal, console_caller(auth)],
        unit: Annotated[str | None, Query(pattern=UNIT_ID_PATTERN)] = None,
    ) -> HTMLResponse:
        registry = in_force()  # jurisdictions are imported at run time
        chosen = registry.unit(unit or caller.unit_id) or registry.top
        require_supervision(caller, chosen.id)
        translate = Translator(pick_language(request))
        stream = await console_stream(chosen.id)
        # The live stream starts where the history was read: an alert logged meanwhile comes
        # twice at worst (the page keeps one per alert id), never not at all.
        since: datetime = clock()
        earlier = await history(log, stream)
        others = [
            Subscription.from_document(d)
            for d in await store.all()
            if caller.can_read_unit(d["unit_id"])
            if registry.is_within(chosen.id, d["unit_id"])
            or registry.is_within(d["unit_id"], chosen.id)
        ]
        subscriptions = [s for s in others if not s.name.startswith(CONSOLE_PREFIX)]
        shown = [
            *registry.ancestors(chosen.id),
            *(child.id for child in registry.children_of(chosen.id) if child.kind != "grid"),
            *(alert["unit_id"] for alert in earlier),
            *(subscription.unit_id for subscription in subscriptions),
        ]
        page = pages.render(
            request,
            "supervisor.html",
            unit=chosen,
            stream_id=stream.subscription_id,
            since=since.isoformat(),
            history=earlier,
            unit_labels=unit_labels(registry, translate, shown),
            subscriptions=subscriptions,
            kinds=list(AlertKind),
            priorities=list(Priority),
            alert_labels={kind.value: translate.label("alert", kind.value) for kind in AlertKind},
            priority_labels={p.value: translate.label("priority", p.value) for p in Priority},
        )
        keep_token(auth, request, page)
        return page

    return router, pages
