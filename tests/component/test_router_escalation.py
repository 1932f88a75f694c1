"""The escalation worker and saturation alerts through faststream's test broker."""

from datetime import UTC, datetime
from typing import Any

from faststream.kafka import TestKafkaBroker

from contracts import topics
from contracts.events import AlertRaised, CaseRouted
from contracts.registry import hanyin
from contracts.vocabulary import AlertKind, Tier
from router.app import create_app
from router.policy import Policy
from router.readmodel import ReadModels
from router.rules import route
from router.settings import RouterSettings
from tests.factories import JIANGHE, escalation_of, reported
from tests.fakes import InMemoryAuditTrail


async def test_escalation_request_is_re_routed_one_tier_up_with_an_alert(capture: Any) -> None:
    app = create_app(RouterSettings(), audit=InMemoryAuditTrail(), share_changes=False)
    routed = capture(app.state.broker, topics.CASES_ROUTED)
    alerts = capture(app.state.broker, topics.ALERTS)
    first = route(reported(), Policy(), hanyin(), datetime.now(UTC))
    async with TestKafkaBroker(app.state.broker) as broker:
        await broker.publish(
            escalation_of(first).model_dump_json().encode(), topics.CASES_LIFECYCLE
        )
    (second,) = [CaseRouted.model_validate_json(body) for body in routed.bodies]
    assert (second.case_id, second.routing_seq, second.tier, second.unit_id) == (
        first.case_id,
        2,
        Tier.TOWN,
        "hanyin-shuangru",
    )
    assert [step.rule for step in second.trace] == ["village_default", "escalated_from_village"]
    (alert,) = [AlertRaised.model_validate_json(body) for body in alerts.bodies]
    assert (alert.kind, alert.unit_id, alert.case_id) == (
        AlertKind.ESCALATION,
        JIANGHE,
        first.case_id,
    )


async def test_escalation_at_the_county_only_alerts(capture: Any) -> None:
    app = create_app(RouterSettings(), audit=InMemoryAuditTrail(), share_changes=False)
    routed = capture(app.state.broker, topics.CASES_ROUTED)
    alerts = capture(app.state.broker, topics.ALERTS)
    first = route(reported(amount_yuan=900_000), Policy(), hanyin(), datetime.now(UTC))
    assert first.tier is Tier.COUNTY
    async with TestKafkaBroker(app.state.broker) as broker:
        await broker.publish(
            escalation_of(first).model_dump_json().encode(), topics.CASES_LIFECYCLE
        )
    assert routed.bodies == []
    (alert,) = [AlertRaised.model_validate_json(body) for body in alerts.bodies]
    assert (alert.kind, alert.tier) == (AlertKind.ESCALATION, Tier.COUNTY)


async def test_a_saturated_village_keeps_its_cases_and_alerts_once(capture: Any) -> None:
    app = create_app(RouterSettings(), audit=InMemoryAuditTrail(), share_changes=False)
    models: ReadModels = app.state.models
    for n in range(30):
        models.load.assigned(f"old-{n}-1", 1, f"med-{JIANGHE}-1")
        models.load.assigned(f"old-{n}-2", 1, f"med-{JIANGHE}-2")
    routed = capture(app.state.broker, topics.CASES_ROUTED)
    alerts = capture(app.state.broker, topics.ALERTS)
    async with TestKafkaBroker(app.state.broker) as broker:
        for _ in range(3):
            await broker.publish(reported().model_dump_json().encode(), topics.DISPUTES_REPORTED)
    decisions = [CaseRouted.model_validate_json(body) for body in routed.bodies]
    assert [(d.tier, d.unit_id) for d in decisions] == [(Tier.VILLAGE, JIANGHE)] * 3
    (alert,) = [AlertRaised.model_validate_json(body) for body in alerts.bodies]
    assert (alert.kind, alert.unit_id, alert.case_id) == (
        AlertKind.UNIT_SATURATED,
        JIANGHE,
        decisions[0].case_id,
    )
    assert models.load.loads[f"med-{JIANGHE}-1"] + models.load.loads[f"med-{JIANGHE}-2"] == 63
