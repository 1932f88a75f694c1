"""From alert events to claimed deliveries: log the alert, find its subscribers, claim one
delivery per subscriber, hand the claims to the deliverer."""

from collections.abc import Callable, Iterable
from datetime import datetime

import structlog
from pydantic import ValidationError

from contracts.events import AlertRaised
from contracts.registry import in_force
from notifier import rules
from notifier.delivery import Deliverer, Job, new_token
from notifier.models import StreamDelivery, Subscription
from notifier.settings import NotifierSettings
from notifier.store import DIGEST_PENDING, SENDING, AlertLog, Ledger, SubscriptionStore
from services.mongo import Document


class SubscriptionCache:
    """Subscriptions are few and change rarely: matching reads them from memory, by unit.
    The API updates the cache on change; a periodic refresh picks up other instances' changes."""

    def __init__(self, store: SubscriptionStore, logger: structlog.stdlib.BoundLogger) -> None:
        self._store = store
        self._log = logger
        self._by_id: dict[str, Subscription] = {}

    async def refresh(self) -> None:
        loaded = []
        for document in await self._store.all():
            try:
                loaded.append(Subscription.from_document(document))
            except ValidationError as error:
                self._log.error("unreadable subscription", id=document.get("_id"), error=str(error))
        self.replace(loaded)

    def replace(self, subscriptions: Iterable[Subscription]) -> None:
        self._by_id = {s.subscription_id: s for s in subscriptions}
        self._by_unit: dict[str, list[Subscription]] = {}
        for subscription in self._by_id.values():
            self._by_unit.setdefault(subscription.unit_id, []).append(subscription)

    def put(self, subscription: Subscription) -> None:
        self.replace([*self._by_id.values(), subscription])

    def remove(self, subscription_id: str) -> None:
        self.replace(s for s in self._by_id.values() if s.subscription_id != subscription_id)

    def get(self, subscription_id: str) -> Subscription | None:
        return self._by_id.get(subscription_id)

    def matching(self, alert: AlertRaised) -> list[Subscription]:
        """Subscribers of the alert's unit and of every unit above it."""
        return [
            subscription
            for unit_id in in_force().ancestors(alert.unit_id)
            for subscription in self._by_unit.get(unit_id, ())
            if rules.matches(subscription, alert)
        ]


def plan_delivery(
    alert: AlertRaised, subscription: Subscription, now: datetime, lease_s: float
) -> Document:
    """The ledger entry of one (alert, subscription): sent now, or held for the digest."""
    entry_id = rules.delivery_id(alert.alert_id, subscription.subscription_id)
    entry: Document = {
        "_id": entry_id,
        "alert_id": alert.alert_id,
        "subscription_id": subscription.subscription_id,
        "idempotency_key": rules.idempotency_key("a", entry_id),
        "alert": alert.model_dump(mode="json"),
        "claimed_at": now,
        "attempts": 0,
    }
    if subscription.digest_minutes is not None and not rules.is_urgent(alert):
        window, due_at = rules.digest_window(now, subscription.digest_minutes)
        entry.update(
            state=DIGEST_PENDING,
            digest_minutes=subscription.digest_minutes,
            window=window,
            due_at=due_at,
        )
    else:
        entry.update(state=SENDING, token=new_token(), lease_until=rules.lease_until(now, lease_s))
    return entry


class Dispatcher:
    def __init__(
        self,
        *,
        cache: SubscriptionCache,
        log: AlertLog,
        ledger: Ledger,
        deliverer: Deliverer,
        settings: NotifierSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self._cache = cache
        self._log = log
        self._ledger = ledger
        self._deliverer = deliverer
        self._settings = settings
        self._clock = clock

    async def on_alerts(self, batch: list[AlertRaised]) -> None:
        """Idempotent: a redelivered alert is neither logged nor claimed twice. Returns once
        the claims are stored; the sending goes on in the background under their leases."""
        alerts = list({alert.alert_id: alert for alert in batch}.values())
        now = self._clock()
        await self._log.append(alerts, now)
        entries = [
            plan_delivery(alert, subscription, now, self._settings.delivery_lease_s)
            for alert in alerts
            for subscription in self._cache.matching(alert)
            if not isinstance(subscription.delivery, StreamDelivery)
        ]
        claimed = await self._ledger.claim(entries)
        for entry in entries:
            if entry["_id"] in claimed and entry["state"] == SENDING:
                self._deliverer.start(Job.from_document(self._ledger, entry))
