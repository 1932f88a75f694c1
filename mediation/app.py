from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from pydantic import TypeAdapter

from contracts import topics
from contracts.audit import AuditRecorded
from contracts.events import AlertRaised, CaseAssigned, CaseRouted, LifecycleEvent
from mediation.api import create_router, prometheus_router
from mediation.handlers import MetricsRecorder, RoutedCases
from mediation.metrics_store import MetricsStore, MongoMetricsStore
from mediation.service import CaseService, Relay
from mediation.settings import MediationSettings
from mediation.store import CaseStore, MongoCaseStore
from mediation.sweeper import running_sweeper
from mediation.web import create_console
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


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: MediationSettings | None = None,
    *,
    store: CaseStore | None = None,
    metrics: MetricsStore | None = None,
    clock: Callable[[], datetime] | None = None,
    sweep: bool = True,
    audit: AuditTrail | None = None,
) -> FastAPI:
    """`store` and `metrics` replace MongoDB with other implementations (component tests)."""
    settings = settings or MediationSettings()
    logger = configure_logging(settings.service_name, settings.log_level)
    auth = AuthSettings()
    broker = create_broker(settings, logger)
    client = create_mongo_client(settings)
    database = client[settings.mongodb_database]
    mongo_store, mongo_metrics = MongoCaseStore(database), MongoMetricsStore(database)
    store = store or mongo_store
    metrics = metrics or mongo_metrics
    publishers = {
        topics.CASES_LIFECYCLE: EventPublisher(
            broker.publisher(
                topics.CASES_LIFECYCLE,
                schema=CaseAssigned,
                title="CaseLifecycle",
                description="Lifecycle events of each case (LifecycleEvent), keyed by case id.",
            )
        ),
        topics.ALERTS: EventPublisher(
            broker.publisher(
                topics.ALERTS,
                schema=AlertRaised,
                title="Alerts",
                description="deadline_breach, urgent_risk and rebound alerts, keyed by case id.",
            )
        ),
    }
    audit = audit or Auditor(
        database,
        EventPublisher(
            broker.publisher(
                topics.AUDIT,
                schema=AuditRecorded,
                title="Audit",
                description="Every case action and every opening of sealed contacts.",
            )
        ),
    )
    relay = Relay(store, publishers)
    clock = clock or _utc_now
    jurisdiction, follow_config = followed_jurisdiction(settings, logger)
    # Mediators' tokens count while their unit lists them: admins change the lists at run time.
    auth.recognise(lambda: jurisdiction.current, mediators=True)
    grace = timedelta(seconds=settings.backdate_grace_s)
    cases = CaseService(store, relay, jurisdiction, clock, logger, backdate_grace=grace)
    subscribe_batch(
        broker,
        topics.CASES_ROUTED,
        group_id=settings.group_id,
        schema=TypeAdapter(CaseRouted),
        handle=RoutedCases(store, relay, cases).on_routed,
        settings=settings,
        logger=logger,
        description="Stores each routed case in its unit's queue; re-routes move it up a tier.",
    )
    recorder = MetricsRecorder(metrics)
    subscribe_batch(
        broker,
        topics.CASES_LIFECYCLE,
        group_id=f"{settings.group_id}-metrics",
        schema=TypeAdapter(LifecycleEvent),
        handle=recorder.on_lifecycle,  # type: ignore[arg-type]
        settings=settings,
        logger=logger,
        description="Counts lifecycle events into the resolution metrics, each event once.",
        auto_offset_reset=settings.metrics_from,
    )

    def open_store() -> AbstractAsyncContextManager[None]:
        @asynccontextmanager
        async def step() -> AsyncIterator[None]:
            await mongo_store.ensure_indexes()
            await mongo_metrics.ensure_indexes()
            try:
                yield
            finally:
                await client.close()

        return step()

    # The mediators admins changed are known before the first action is checked.
    steps = [
        follow_config,
        open_store,
        running_broker(broker, settings),
    ]
    if sweep:
        steps.append(running_sweeper(cases, settings, logger))
    accounts = serve_consoles(auth, database, settings.service_name)
    console, pages = create_console(store, metrics, jurisdiction, auth)
    app = create_service_app(
        broker=broker,
        title="tiaojie mediation",
        routers=[
            create_router(store, cases, metrics, auth=auth, audit=audit, sealer=Sealer()),
            prometheus_router(metrics, auth),
            console,
        ],
        checks={"kafka": lambda: broker.ping(timeout=2.0), "mongodb": lambda: ping(database)},
        lifespan=chain_lifespans(*steps),
    )
    pages.install(app, accounts)
    app.state.cases = cases
    return app
