"""Kafka edge of the router: a batch in, decisions out, committed after Kafka acknowledged."""

import asyncio
from collections.abc import Callable
from datetime import datetime

from contracts.audit import AuditRecorded
from contracts.events import (
    AlertRaised,
    CaseEscalationRequested,
    CaseRouted,
    DisputeReported,
    deterministic_event_id,
)
from router.alerts import escalation_alert, saturation_alert
from router.readmodel import ReadModels
from router.rules import Decision, decide, escalate
from router.watch import PolicyHolder
from services.audit import AuditTrail, service_event
from services.jurisdiction import Jurisdiction
from services.publishing import EventPublisher

ROUTE = "case.route"


def routing_record(service: str, routed: CaseRouted, actor_unit_id: str) -> AuditRecorded:
    """The router's own decision in the audit trail: which rule placed the case where, under
    which policy version. Its id follows the decision's, so a redelivered batch repeats it."""
    step = routed.trace[-1]
    return service_event(
        service,
        ROUTE,
        event_id=deterministic_event_id(str(routed.event_id), "audit"),
        occurred_at=step.decided_at,
        actor_unit_id=actor_unit_id,
        case_id=routed.case_id,
        unit_id=routed.unit_id,
        details={
            "tier": routed.tier.value,
            "rule": step.rule,
            "policy_version": step.policy_version,
            "mediator_id": routed.mediator_id,
            "routing_seq": routed.routing_seq,
            "priority": routed.priority.value,
        },
    )


class DecisionAudit:
    """Writes each routing decision into the audit trail, read back from the decisions topic.

    Off the routing path, so routing waits only for Kafka, never for the database; and still
    every decision: it is on its topic before the router commits its input, this consumer
    commits only once the trail has it, and a repeat keeps its id (the trail skips it)."""

    def __init__(self, audit: AuditTrail, jurisdiction: Jurisdiction, service: str) -> None:
        self._audit = audit
        self._jurisdiction = jurisdiction
        self._service = service

    async def on_routed(self, batch: list[CaseRouted]) -> None:
        county = self._jurisdiction.current.top.id
        await self._audit.record_all([routing_record(self._service, r, county) for r in batch])


class Outbox:
    """What one batch decided; published together, pipelined, before the batch commits."""

    def __init__(self, routed: EventPublisher, alerts: EventPublisher) -> None:
        self._routed_publisher = routed
        self._alert_publisher = alerts
        self.routed: list[CaseRouted] = []
        self.alerts: list[AlertRaised] = []

    async def flush(self) -> None:
        await asyncio.gather(
            self._routed_publisher.publish_all(self.routed),
            self._alert_publisher.publish_all(self.alerts),
        )


class DisputeRouter:
    def __init__(
        self,
        *,
        routed: EventPublisher,
        alerts: EventPublisher,
        policies: PolicyHolder,
        jurisdiction: Jurisdiction,
        models: ReadModels,
        clock: Callable[[], datetime],
    ) -> None:
        self._routed = routed
        self._alerts = alerts
        self._policies = policies
        self._jurisdiction = jurisdiction
        self._models = models
        self._clock = clock

    def _outbox(self) -> Outbox:
        return Outbox(self._routed, self._alerts)

    def _record(self, decision: Decision, outbox: Outbox) -> None:
        routed = decision.routed
        if routed is None:
            return
        # Count the case at once, so the rest of the batch sees this mediator's new load.
        self._models.apply_routed(routed)
        outbox.routed.append(routed)
        if self._models.saturation.observe(routed.unit_id, decision.saturated):
            policy = self._policies.current
            outbox.alerts.append(
                saturation_alert(routed, policy.assignment.max_open_cases_per_mediator)
            )

    async def on_reported(self, batch: list[DisputeReported]) -> None:
        policy = self._policies.current
        registry = self._jurisdiction.current
        decided_at = self._clock()
        outbox = self._outbox()
        for reported in batch:
            situation = self._models.situation(reported.dispute, reported.occurred_at, policy)
            decision = decide(reported, policy, registry, decided_at, situation)
            self._record(decision, outbox)
        await outbox.flush()

    async def on_lifecycle(self, batch: list[object]) -> None:
        """Escalation requests move a case one tier up; other lifecycle events feed only the
        read models (through their own reader), not this worker."""
        policy = self._policies.current
        registry = self._jurisdiction.current
        decided_at = self._clock()
        outbox = self._outbox()
        for event in batch:
            if not isinstance(event, CaseEscalationRequested):
                continue
            self._models.apply_lifecycle(event)  # the case leaves its mediator now
            situation = self._models.situation(event.dispute, event.occurred_at, policy)
            decision = escalate(event, policy, registry, decided_at, situation)
            self._record(decision, outbox)
            outbox.alerts.append(escalation_alert(event, decision.routed, decided_at))
        await outbox.flush()
