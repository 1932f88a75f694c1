"""Kafka topic names, defined once. Events are keyed by their correlation id: the dispute id,
which is also the case id, so one case's events stay in order on one partition."""

import os
from typing import Final

NAMESPACE: Final = os.environ.get("TIAOJIE_TOPIC_NAMESPACE", "tiaojie")
"""Prefix of every topic: `tiaojie` in production; a test run takes one of its own so runs
sharing a broker never read each other's events."""

DISPUTES_REPORTED: Final = f"{NAMESPACE}.disputes.reported"
"""DisputeReported, from intake; key = dispute id."""

CASES_ROUTED: Final = f"{NAMESPACE}.cases.routed"
"""CaseRouted, from router; key = case id (the dispute id)."""

CASES_LIFECYCLE: Final = f"{NAMESPACE}.cases.lifecycle"
"""LifecycleEvent (CaseAssigned ... CaseEscalationRequested), from mediation; key = case id."""

ALERTS: Final = f"{NAMESPACE}.alerts"
"""AlertRaised, from router and mediation; key = case id, or unit id for unit alerts."""

AUDIT: Final = f"{NAMESPACE}.audit"
"""AuditRecorded, from every service; key = case id, or the caller's subject."""

DEAD_LETTER: Final = f"{NAMESPACE}.deadletter"
"""Events no handler could process, with the reason and origin in headers."""

CONFIG: Final = f"{NAMESPACE}.config"
"""PolicyChanged and MediatorsChanged, from the router's admin endpoints and its policy file.
One partition, so every replica applies the changes in the same order, and kept for ever: a
starting router replays it from the beginning (conditional changes decide the same way on
every replay, which a compacted topic could not promise once it dropped earlier changes)."""

ALL: Final = (DISPUTES_REPORTED, CASES_ROUTED, CASES_LIFECYCLE, ALERTS, AUDIT, DEAD_LETTER)
PARTITIONS: Final = 4
"""Partitions of every topic in ALL; CONFIG has one."""
