from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import TypeAdapter

from contracts import topics
from contracts.admin import PolicyChanged
from contracts.audit import AuditRecorded
from contracts.events import AlertRaised, CaseRouted, DisputeReported, LifecycleEvent
from router.api import create_router
from router.changes import SharedConfig
from router.feed import ReadModelFeed
from router.handlers import DecisionAudit, DisputeRouter
from router.mediators_api import create_mediators_router
from router.policy_api import create_policy_router
from router.readmodel import ReadModels
from router.settings import RouterSettings
from router.units_api import create_units_router
from router.users import UserAdmin, create_users_router
from router.watch import PolicyHolder, watching
from router.web import create_console
from services.accounts import serve_consoles
from services.audit import Auditor, AuditTrail
from services.auth import AuthSettings
from services.broker import create_broker, running_broker
from services.consumer import subscribe_batch
from services.follow import TopicFollower, following
from services.http import chain_lifespans, create_service_app
from services.jurisdiction import Jurisdiction
from services.logging import configure_logging
from services.mongo import closing, create_mongo_client, ping
from services.publishing import EventPublisher
from services.web.render import ConsoleLinks


def create_app(
    settings: RouterSettings | None = None,
    *,
    audit: AuditTrail | None = None,
    share_changes: bool = True,
) -> FastAPI:
    """Refuses to start (PolicyError naming the field) when the policy file is invalid.
    `audit` replaces MongoDB and the audit topic, and `share_changes=False` applies admin
    changes in this process only instead of through the config topic (component tests)."""
    settings = settings or RouterSettings()
    logger = configure_logging(settings.service_name, settings.log_level)
    policies = PolicyHolder(settings.policy_path, logger)
    jurisdiction = Jurisdiction(logger)
    models = ReadModels()
    broker = create_broker(settings, logger)
    client = create_mongo_client(settings)
    database = client[settings.mongodb_database]
    audit = audit or Auditor(
        database,
        EventPublisher(
            broker.publisher(
                topics.AUDIT,
                schema=AuditRecorded,
                title="Audit",
                description="Each routing decision, and each change of the policy or mediators.",
            )
        ),
    )
    config = EventPublisher(
        broker.publisher(
            topics.CONFIG,
            schema=PolicyChanged,
            title="Config",
            description="Policy, mediator, unit and jurisdiction changes, in the order every "
            "service applies them.",
        )
    )
    shared = SharedConfig(
        policies=policies,
        jurisdiction=jurisdiction,
        publish=config.publish if share_changes else None,
        audit=audit,
        service=settings.service_name,
        logger=logger,
        confirm_s=settings.change_confirm_s,
    )

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
        jurisdiction=jurisdiction,
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
    subscribe_batch(
        broker,
        topics.CASES_ROUTED,
        group_id=f"{settings.group_id}-audit",
        schema=TypeAdapter(CaseRouted),
        handle=DecisionAudit(audit, jurisdiction, settings.service_name).on_routed,
        settings=settings,
        logger=logger,
        description="Writes each routing decision into the audit trail.",
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
    bootstrap = settings.kafka_bootstrap_servers
    feed = ReadModelFeed(models).follower(bootstrap, logger)
    config_follower = TopicFollower(bootstrap, {topics.CONFIG: shared.apply_record}, logger)
    auth = AuthSettings()
    auth.recognise(lambda: jurisdiction.current, mediators=True)
    accounts = serve_consoles(auth, database, settings.service_name)
    users = UserAdmin(accounts, jurisdiction, audit)
    console, pages = create_console(users, jurisdiction, auth)

    def account_indexes() -> AbstractAsyncContextManager[None]:
        @asynccontextmanager
        async def step() -> AsyncIterator[None]:
            await accounts.store.ensure_indexes()  # user names are unique
            yield

        return step()

    app = create_service_app(
        broker=broker,
        title="tiaojie router",
        routers=[
            create_router(jurisdiction, policies, models, clock, auth),
            create_policy_router(shared, audit, auth),
            create_mediators_router(shared, models, audit, auth),
            create_units_router(shared, models, audit, auth),
            create_users_router(users, audit, auth),
            console,
        ],
        checks={"kafka": lambda: broker.ping(timeout=2.0), "mongodb": lambda: ping(database)},
        lifespan=chain_lifespans(
            account_indexes,
            # The changes admins made come first: no case is routed under the seed policy
            # once a replica knows better.
            following(config_follower, bootstrap, settings.config_wait_s),
            # Routing before the loads are rebuilt only spreads cases less evenly; better
            # than not routing at all.
            following(feed, bootstrap, settings.read_model_wait_s, required=False, logger=logger),
            running_broker(broker, settings),
            watching(
                policies, settings.policy_poll_s, shared.share_file if share_changes else None
            ),
            closing(client),
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
    pages.install(app, accounts)
    app.state.policies = policies
    app.state.jurisdiction = jurisdiction
    app.state.models = models
    app.state.shared = shared
    return app
