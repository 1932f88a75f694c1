from fastapi import FastAPI

from contracts import topics
from contracts.events import DisputeReported
from intake.api import create_router
from intake.settings import IntakeSettings
from services.broker import create_broker, running_broker
from services.http import chain_lifespans, create_service_app
from services.logging import configure_logging
from services.privacy import Sealer
from services.publishing import EventPublisher


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    logger = configure_logging(settings.service_name, settings.log_level)
    broker = create_broker(settings, logger)
    publisher = EventPublisher(
        broker.publisher(
            topics.DISPUTES_REPORTED,
            schema=DisputeReported,
            title="DisputeReported",
            description="Every accepted report, keyed by dispute id.",
        )
    )
    return create_service_app(
        broker=broker,
        title="tiaojie intake",
        routers=[create_router(publisher, settings, Sealer(), logger)],
        checks={"kafka": lambda: broker.ping(timeout=2.0)},
        lifespan=chain_lifespans(running_broker(broker, settings)),
    )
