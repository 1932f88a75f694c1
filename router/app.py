from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import TypeAdapter

from contracts import topics
from contracts.events import AlertRaised, CaseRouted, DisputeReported, LifecycleEvent
from contracts.registry import Registry, hanyin
from router.api import create_router
from router.feed import ReadModelFeed, feeding
from router.handlers import DisputeRouter
from router.readmodel import ReadModels
from router.settings import RouterSettings
from router.watch import PolicyHolder, watching
from services.auth import AuthSettings
from services.broker import create_broker, running_broker
from services.consumer import subscribe_batch
from services.http import chain_lifespans, create_service_app
from services.logging import configure_logging
from services.publishing import EventPublisher
from services.web.render import ConsoleLinks


def create_app(
    settings: RouterSettings | None = None, *, registry: Registry | None = None
) -> FastAPI:
    """Refuses to start (PolicyError naming the field) when the policy file is invalid."""
    settings = settings or RouterSettings()
    logger = configure_logging(settings.service_name, settings.log_level)
    registry = registry or hanyin()
    policies = PolicyHolder(settings.policy_path, logger)
    models = ReadModels()
    broker = create_broker(settings, logger)

    def clock() -> datetime:
        return datetime.now(UTC)

    router = DisputeRouter(
        routed=EventPublisher(
            broker.publisher(
                topics.CASES_ROUTED,
                schema=CaseRouted,
                title="CaseRouted",
                description="Routing decisions with their trace, keyed by case id.",
            )
        ),
        alerts=EventPublisher(
            broker.publisher(
                topics.ALERTS,
                schema=AlertRaised,
                title="AlertRaised",
                description="Escalations and saturated units, for the supervisors above.",
            )
        ),
        policies=policies,
        registry=registry,
        models=models,
        clock=clock,
    )
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
    lifecycle: TypeAdapter[Any] = TypeAdapter(LifecycleEvent)
    subscribe_batch(
        broker,
        topics.CASES_LIFECYCLE,
        group_id=f"{settings.group_id}-escalations",
        schema=lifecycle,
        handle=router.on_lifecycle,
        settings=settings,
        logger=logger,
        description="Re-routes a case one tier up when mediation asks for an escalation.",
    )
    feed = ReadModelFeed(settings.kafka_bootstrap_servers, models, logger)
    app = create_service_app(
        broker=broker,
        title="tiaojie router",
        routers=[create_router(registry, policies, models, clock, AuthSettings())],
        checks={"kafka": lambda: broker.ping(timeout=2.0)},
        lifespan=chain_lifespans(
            watching(policies, settings.policy_poll_s),
            feeding(feed, settings.kafka_bootstrap_servers, settings.read_model_wait_s, logger),
            running_broker(broker, settings),
        ),
    )
    # The consoles of the other services read the units API from the browser.
    links = ConsoleLinks()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[links.intake_url, links.mediation_url, links.notifier_url],
        allow_methods=["GET"],
        allow_headers=["Authorization"],
    )
    app.state.policies = policies
    app.state.models = models
    return app
