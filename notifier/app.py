from fastapi import FastAPI

from notifier.settings import NotifierSettings
from services.broker import create_broker, running_broker
from services.http import chain_lifespans, create_service_app
from services.logging import configure_logging
from services.mongo import create_mongo_client, ping


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    settings = settings or NotifierSettings()
    logger = configure_logging(settings.service_name, settings.log_level)
    broker = create_broker(settings, logger)
    database = create_mongo_client(settings)[settings.mongodb_database]
    return create_service_app(
        broker=broker,
        title="tiaojie notifier",
        routers=[],
        checks={"kafka": lambda: broker.ping(timeout=2.0), "mongodb": lambda: ping(database)},
        lifespan=chain_lifespans(running_broker(broker, settings)),
    )
