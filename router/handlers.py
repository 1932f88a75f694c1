"""Kafka edge of the router: a batch in, decisions out, committed after Kafka acknowledged."""

import asyncio
from collections.abc import Callable
from datetime import datetime

from contracts.events import AlertRaised, CaseEscalationRequested, CaseRouted, DisputeReported
from contracts.registry import Registry
from router.alerts import escalation_alert, saturation_alert
from router.readmodel import ReadModels
from router.rules import Decision, decide, escalate
from router.watch import PolicyHolder
from services.publishing import EventPublisher


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
        registry: Registry,
        models: ReadModels,
        clock: Callable[[], datetime],
    ) -> None:
        self._routed = routed
        self._alerts = alerts
        self._policies = policies
        self._registry = registry
        self._models = models
        self._clock = clock

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
        decided_at = self._clock()
        outbox = Outbox(self._routed, self._alerts)
        for reported in batch:
            situation = self._models.situation(reported.dispute, reported.occurred_at, policy)
            decision = decide(reported, policy, self._registry, decided_at, situation)
            self._record(decision, outbox)
        await outbox.flush()

    async def on_lifecycle(self, batch: list[object]) -> None:
        """Escalation requests move a case one tier up; other lifecycle events feed only the
        read models (through their own reader), not this worker."""
        policy = self._policies.current
        decided_at = self._clock()
        outbox = Outbox(self._routed, self._alerts)
        for event in batch:
            if not isinstance(event, CaseEscalationRequested):
                continue
            self._models.apply_lifecycle(event)  # the case leaves its mediator now
            situation = self._models.situation(event.dispute, event.occurred_at, policy)
            decision = escalate(event, policy, self._registry, decided_at, situation)
            self._record(decision, outbox)
            outbox.alerts.append(escalation_alert(event, decision.routed, decided_at))
        await outbox.flush()
