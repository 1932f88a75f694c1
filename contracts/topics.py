"""Kafka topic names, defined once. Events are keyed by their correlation id: the dispute id,
which is also the case id, so one case's events stay in order on one partition."""

from typing import Final

DISPUTES_REPORTED: Final = "tiaojie.disputes.reported"
"""DisputeReported, from intake; key = dispute id."""

CASES_ROUTED: Final = "tiaojie.cases.routed"
"""CaseRouted, from router; key = case id (the dispute id)."""

CASES_LIFECYCLE: Final = "tiaojie.cases.lifecycle"
"""LifecycleEvent (CaseAssigned ... CaseEscalationRequested), from mediation; key = case id."""

ALERTS: Final = "tiaojie.alerts"
"""AlertRaised, from router and mediation; key = case id, or unit id for unit alerts."""

AUDIT: Final = "tiaojie.audit"
"""AuditRecorded, from every service; key = case id, or the caller's subject."""

DEAD_LETTER: Final = "tiaojie.deadletter"
"""Events no handler could process, with the reason and origin in headers."""

ALL: Final = (DISPUTES_REPORTED, CASES_ROUTED, CASES_LIFECYCLE, ALERTS, AUDIT, DEAD_LETTER)
PARTITIONS: Final = 4
