"""Kafka edge of the notifier: alert events become claimed deliveries."""

import structlog
from faststream.kafka import KafkaBroker
from pydantic import TypeAdapter

from contracts import topics
from contracts.events import AlertRaised
from notifier.service import Dispatcher
from notifier.settings import NotifierSettings
from services.consumer import BatchConsumer, subscribe_batch


def subscribe_alerts(
    broker: KafkaBroker,
    dispatcher: Dispatcher,
    settings: NotifierSettings,
    logger: structlog.stdlib.BoundLogger,
) -> BatchConsumer[AlertRaised]:
    """An alert that fails validation is dead-lettered and the stream goes on."""
    return subscribe_batch(
        broker,
        topics.ALERTS,
        group_id=settings.group_id,
        schema=TypeAdapter(AlertRaised),
        handle=dispatcher.on_alerts,
        settings=settings,
        logger=logger,
        description="Delivers each alert once to every supervisor subscribed to its unit or above.",
    )
