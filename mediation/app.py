from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from pydantic import TypeAdapter

from contracts import topics
from contracts.events import CaseAssigned, CaseRouted
from mediation.api import create_router
from mediation.handlers import RoutedCases
from mediation.settings import MediationSettings
from mediation.store import CaseStore, MongoCaseStore
from services.broker import create_broker, running_broker
from services.consumer import subscribe_batch
from services.http import chain_lifespans, create_service_app
from services.logging import configure_logging
from services.mongo import create_mongo_client, ping
from services.publishing import EventPublisher


def create_app(
    settings: MediationSettings | None = None, *, store: CaseStore | None = None
) -> FastAPI:
    """`store` replaces MongoDB with another implementation (component tests)."""
    settings = settings or MediationSettings()
    logger = configure_logging(settings.service_name, settings.log_level)
    broker = create_broker(settings, logger)
    client = create_mongo_client(settings)
    database = client[settings.mongodb_database]
    mongo_store = MongoCaseStore(database)
    store = store or mongo_store
    lifecycle = EventPublisher(
        broker.publisher(
            topics.CASES_LIFECYCLE,
            schema=CaseAssigned,
            title="CaseLifecycle",
            description="Lifecycle events of each case, keyed by case id.",
        )
    )
    cases = RoutedCases(store, lifecycle)
    subscribe_batch(
        broker,
        topics.CASES_ROUTED,
        group_id=settings.group_id,
        schema=TypeAdapter(CaseRouted),
        handle=cases.on_routed,
        settings=settings,
        logger=logger,
        description="Stores each routed case in its unit's queue.",
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

    return create_service_app(
        broker=broker,
        title="tiaojie mediation",
        routers=[create_router(store)],
        checks={"kafka": lambda: broker.ping(timeout=2.0), "mongodb": lambda: ping(database)},
        lifespan=chain_lifespans(open_store, running_broker(broker, settings)),
    )
