from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import TypeAdapter

from contracts import topics
from contracts.audit import AuditRecorded
from contracts.events import CaseRouted, DisputeReported, LifecycleEvent
from intake.api import WeChatLimits, Wiring, create_router
from intake.georeport import render_refusal
from intake.handlers import StatusFollower
from intake.open311 import create_open311_router
from intake.pipeline import Intake
from intake.settings import IntakeSettings
from intake.store import IntakeStore, MongoIntakeStore
from intake.tracking import TrackingNumbers
from intake.web import create_console
from services.accounts import serve_consoles
from services.audit import Auditor, AuditTrail
from services.auth import AuthSettings
from services.broker import create_broker, running_broker
from services.consumer import subscribe_batch
from services.http import chain_lifespans, create_service_app
from services.jurisdiction import followed_jurisdiction
from services.logging import configure_logging
from services.mongo import create_mongo_client, ping
from services.privacy import Sealer
from services.publishing import EventPublisher
from services.ratelimit import RateLimiter


def create_app(
    settings: IntakeSettings | None = None,
    *,
    store: IntakeStore | None = None,
    clock: Callable[[], datetime] | None = None,
    audit: AuditTrail | None = None,
) -> FastAPI:
    """`store` replaces MongoDB with another implementation (component tests)."""
    settings = settings or IntakeSettings()
    logger = configure_logging(settings.service_name, settings.log_level)
    broker = create_broker(settings, logger)
    client = create_mongo_client(settings)
    database = client[settings.mongodb_database]
    mongo_store = MongoIntakeStore(database)
    store = store or mongo_store
    publisher = EventPublisher(
        broker.publisher(
            topics.DISPUTES_REPORTED,
            schema=DisputeReported,
            title="DisputeReported",
            description="Every accepted report, keyed by dispute id.",
        )
    )
    intake = Intake(
        store=store,
        publisher=publisher,
        tracking=TrackingNumbers(store, settings.tracking_prefix),
        clock=clock or (lambda: datetime.now(UTC)),
        publish_timeout_s=settings.publish_timeout_s,
        duplicate_window_days=settings.duplicate_window_days,
        logger=logger,
    )
    follower = StatusFollower(store)
    # One consumer group for both topics: the group is the service, as for router and mediation.
    subscribe_batch(
        broker,
        topics.CASES_ROUTED,
        group_id=settings.group_id,
        schema=TypeAdapter(CaseRouted),
        handle=follower.on_routed,
        settings=settings,
        logger=logger,
        description="Follows each report's routing, for its status.",
    )
    lifecycle: TypeAdapter[LifecycleEvent] = TypeAdapter(LifecycleEvent)
    subscribe_batch(
        broker,
        topics.CASES_LIFECYCLE,
        group_id=settings.group_id,
        schema=lifecycle,
        handle=follower.on_lifecycle,
        settings=settings,
        logger=logger,
        description="Follows each case's lifecycle, for the report's status.",
    )

    def open_store() -> AbstractAsyncContextManager[None]:
        @asynccontextmanager
        async def step() -> AsyncIterator[None]:
            await mongo_store.ensure_indexes()
            try:
                yield
            finally:
                await client.close()

        return step()

    audit = audit or Auditor(
        database,
        EventPublisher(
            broker.publisher(
                topics.AUDIT,
                schema=AuditRecorded,
                title="Audit",
                description="Every opening of sealed contacts by the filer.",
            )
        ),
    )
    auth = AuthSettings()
    jurisdiction, follow_config = followed_jurisdiction(settings, logger)
    # Places are imported at run time; mediators have nothing to file or follow here.
    auth.recognise(lambda: jurisdiction.current, mediators=False)
    limiter = RateLimiter(settings.submit_rate_per_s, settings.submit_burst)
    wechat = WeChatLimits.of(settings)
    wiring = Wiring(intake, store, Sealer(), settings, logger, auth, limiter, audit, wechat)
    accounts = serve_consoles(auth, database, settings.service_name)
    console, pages = create_console(auth)
    app = create_service_app(
        broker=broker,
        title="tiaojie intake",
        routers=[
            create_router(wiring),
            create_open311_router(wiring),
            console,
        ],
        max_body_bytes=settings.max_body_bytes,
        error_renderers={"/open311/": render_refusal},
        checks={"kafka": lambda: broker.ping(timeout=2.0), "mongodb": lambda: ping(database)},
        lifespan=chain_lifespans(follow_config, open_store, running_broker(broker, settings)),
    )
    pages.install(app, accounts)
    return app
