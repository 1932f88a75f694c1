from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import TypeAdapter

from contracts import topics
from contracts.events import CaseRouted, DisputeReported
from router.handlers import DisputeRouter
from router.rules import Policy
from router.settings import RouterSettings
from services.broker import create_broker, running_broker
from services.consumer import subscribe_batch
from services.http import chain_lifespans, create_service_app
from services.logging import configure_logging
from services.publishing import EventPublisher


def create_app(settings: RouterSettings | None = None) -> FastAPI:
    settings = settings or RouterSettings()
    logger = configure_logging(settings.service_name, settings.log_level)
    broker = create_broker(settings, logger)
    publisher = EventPublisher(
        broker.publisher(
            topics.CASES_ROUTED,
            schema=CaseRouted,
            title="CaseRouted",
            description="Routing decisions with their trace, keyed by case id.",
        )
    )
    router = DisputeRouter(publisher, Policy(), clock=lambda: datetime.now(UTC))
    subscribe_batch(
        broker,
        topics.DISPUTES_REPORTED,
        group_id=settings.group_id,
        schema=TypeAdapter(DisputeReported),
        handle=router.on_reported,
        settings=settings,
        logger=logger,
        description="Routes each reported dispute to a tier and unit.",
    )
    return create_service_app(
        broker=broker,
        title="tiaojie router",
        routers=[],
        checks={"kafka": lambda: broker.ping(timeout=2.0)},
        lifespan=chain_lifespans(running_broker(broker, settings)),
    )
