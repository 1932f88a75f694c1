from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from contracts import topics
from contracts.audit import AuditRecorded
from contracts.registry import in_force
from notifier.api import create_router
from notifier.background import DigestFlusher, Sweeper, periodically
from notifier.channels import EmailSender, TargetGuard, WebhookSender
from notifier.delivery import DeadLetters, Deliverer
from notifier.handlers import subscribe_alerts
from notifier.service import Dispatcher, SubscriptionCache
from notifier.settings import NotifierSettings
from notifier.store import DIGESTS, LeasedJobs, Ledger, MongoAlertLog, SubscriptionStore
from notifier.web import create_console
from services.accounts import serve_consoles
from services.audit import Auditor
from services.auth import AuthSettings
from services.broker import create_broker, running_broker
from services.http import chain_lifespans, create_service_app
from services.jurisdiction import followed_jurisdiction
from services.logging import configure_logging
from services.mongo import create_mongo_client, ping
from services.publishing import EventPublisher


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: NotifierSettings | None = None, *, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    settings = settings or NotifierSettings()
    logger = configure_logging(settings.service_name, settings.log_level)
    # Alerts match subscriptions through the units above them: imported jurisdictions count.
    _, follow_config = followed_jurisdiction(settings, logger)
    broker = create_broker(settings, logger)
    client = create_mongo_client(settings)
    database = client[settings.mongodb_database]
    auth = AuthSettings()
    # Units are imported at run time; mediators have nothing to do here.
    auth.recognise(in_force, mediators=False)
    audit = Auditor(
        database,
        EventPublisher(
            broker.publisher(
                topics.AUDIT,
                schema=AuditRecorded,
                title="Audit",
                description="Every subscription made or removed.",
            )
        ),
    )
    subscriptions = SubscriptionStore(database)
    cache = SubscriptionCache(subscriptions, logger)
    log = MongoAlertLog(database)
    ledger = Ledger(database)
    digests = LeasedJobs(database, DIGESTS)
    # No redirects: a target is checked before each attempt, a Location would skip the check.
    # No kept-alive connections: one to a pinned address must not carry another host's POST.
    http = httpx.AsyncClient(
        timeout=settings.delivery_timeout_s,
        follow_redirects=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )
    guard = TargetGuard(settings.webhook_allow_list(), timeout_s=settings.delivery_timeout_s)
    deliverer = Deliverer(
        subscriptions=cache.get,
        webhook=WebhookSender(http, guard, clock),
        email=EmailSender(settings),
        dead_letters=DeadLetters(broker, settings.group_id, clock),
        settings=settings,
        logger=logger,
        clock=clock,
    )
    dispatcher = Dispatcher(
        cache=cache, log=log, ledger=ledger, deliverer=deliverer, settings=settings, clock=clock
    )
    subscribe_alerts(broker, dispatcher, settings, logger)
    sweeper = Sweeper([ledger, digests], deliverer, settings, clock)
    flusher = DigestFlusher(ledger, digests, deliverer, settings, clock)

    def open_stores() -> AbstractAsyncContextManager[None]:
        @asynccontextmanager
        async def step() -> AsyncIterator[None]:
            await ledger.ensure_indexes()
            await log.ensure_indexes()
            await cache.refresh()  # before the consumer or the sweep needs a subscription
            try:
                yield
            finally:
                await deliverer.stop()
                await http.aclose()
                await client.close()

        return step()

    background = periodically(
        {
            "refresh subscriptions": (settings.subscriptions_refresh_s, cache.refresh),
            "sweep deliveries": (settings.sweep_interval_s, sweeper.sweep),
            "flush digests": (settings.digest_tick_s, flusher.flush),
        },
        logger,
    )
    accounts = serve_consoles(auth, database, settings.service_name)
    console, pages = create_console(subscriptions, cache, log=log, clock=clock, auth=auth)
    app = create_service_app(
        broker=broker,
        title="tiaojie notifier",
        routers=[
            create_router(subscriptions, cache, log, settings, clock, auth=auth, audit=audit),
            console,
        ],
        checks={"kafka": lambda: broker.ping(timeout=2.0), "mongodb": lambda: ping(database)},
        lifespan=chain_lifespans(
            follow_config, open_stores, running_broker(broker, settings), background
        ),
    )
    pages.install(app, accounts)
    return app
