"""A report's status follows the downstream events: received → routed → assigned → …"""

from datetime import UTC, datetime, timedelta
from typing import Any

from faststream.kafka import TestKafkaBroker

from contracts import topics
from contracts.events import (
    AgreementFollowedUp,
    CaseAccepted,
    CaseAssigned,
    CaseResolved,
    DisputeReported,
    Event,
)
from contracts.registry import hanyin
from contracts.vocabulary import AgreementForm, Priority, Tier
from router.policy import Policy
from router.rules import route
from tests.component.intake_helpers import call, intake_app
from tests.factories import JIANGHE, hotline_body

MEDIATOR = f"med-{JIANGHE}-1"


def case_fields(reported: DisputeReported, at: datetime) -> dict[str, Any]:
    case_id = reported.dispute.dispute_id
    return {
        "occurred_at": at,
        "correlation_id": case_id,
        "case_id": case_id,
        "tier": Tier.VILLAGE,
        "unit_id": JIANGHE,
        "mediator_id": MEDIATOR,
    }


async def deliver(app: Any, topic: str, event: Event) -> None:
    key = event.correlation_id.encode()
    await app.state.broker.publish(event.model_dump_json().encode(), topic=topic, key=key)


async def test_status_follows_routing_and_lifecycle_events(capture: Any) -> None:
    app, _ = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    async with TestKafkaBroker(app.state.broker):
        accepted = (await call(app, "POST", "/v1/disputes", json=hotline_body())).json()
        received = (await call(app, "GET", f"/v1/disputes/{accepted['dispute_id']}")).json()
        reported = DisputeReported.model_validate_json(captured.bodies[0])
        now = datetime.now(UTC)
        routed = route(reported, Policy(), hanyin(), now)
        fields = case_fields(reported, now)
        assigned = CaseAssigned(
            **fields,
            routing_seq=1,
            tracking_number=accepted["tracking_number"],
            priority=Priority.ELEVATED,
            acceptance_due_at=now + timedelta(hours=24),
        )
        later = fields | {"occurred_at": now + timedelta(hours=1)}
        accepted_event = CaseAccepted(**later | {"mediator_id": MEDIATOR}, on_time=True)
        await deliver(app, topics.CASES_ROUTED, routed)
        await deliver(app, topics.CASES_LIFECYCLE, assigned)
        await deliver(app, topics.CASES_LIFECYCLE, assigned)  # redelivered: no second entry
        await deliver(app, topics.CASES_LIFECYCLE, accepted_event)
        working = (await call(app, "GET", f"/v1/disputes/{accepted['tracking_number']}")).json()
        open311 = await call(app, "GET", f"/open311/v2/requests/{accepted['tracking_number']}.json")
        done = fields | {"occurred_at": now + timedelta(days=2)}
        await deliver(
            app,
            topics.CASES_LIFECYCLE,
            CaseResolved(**done, agreement=AgreementForm.WRITTEN, on_time=True),
        )
        follow = fields | {"occurred_at": now + timedelta(days=9)}
        await deliver(app, topics.CASES_LIFECYCLE, AgreementFollowedUp(**follow, fulfilled=True))
        closed = await call(app, "GET", f"/open311/v2/requests/{accepted['tracking_number']}.json")
    assert received["status"] == "received"
    assert [step["status"] for step in working["history"]] == [
        "received",
        "routed",
        "assigned",
        "accepted",
    ]
    assert (working["status"], working["unit_id"], working["mediator_id"]) == (
        "accepted",
        JIANGHE,
        MEDIATOR,
    )
    request = open311.json()[0]
    assert (request["status"], request["agency_responsible"]) == ("open", JIANGHE)
    closed_request = closed.json()[0]
    assert closed_request["status"] == "closed"
    assert "followed up" in closed_request["status_notes"]


async def test_unknown_reference_is_404() -> None:
    app, _ = intake_app()
    async with TestKafkaBroker(app.state.broker):
        by_id = await call(app, "GET", "/v1/disputes/no-such-dispute")
        by_number = await call(app, "GET", "/open311/v2/requests/HY-20261122-999999.json")
    assert by_id.status_code == 404
    assert by_number.status_code == 404
    assert by_number.json()[0]["code"] == 404
