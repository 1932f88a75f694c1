"""Kafka topic names, defined once. Every event on a case topic is keyed by its case id."""

from typing import Final

DISPUTES_REPORTED: Final = "tiaojie.disputes.reported"
"""DisputeReported, from intake; key = dispute id."""

CASES_ROUTED: Final = "tiaojie.cases.routed"
"""CaseRouted, from router; key = case id (the dispute id)."""

CASES_LIFECYCLE: Final = "tiaojie.cases.lifecycle"
"""CaseAssigned and later lifecycle events, from mediation; key = case id."""

DEAD_LETTER: Final = "tiaojie.deadletter"
"""Events no handler could process, with the reason and origin in headers."""

ALL: Final = (DISPUTES_REPORTED, CASES_ROUTED, CASES_LIFECYCLE, DEAD_LETTER)
PARTITIONS: Final = 4
