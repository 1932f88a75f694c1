"""A missed deadline escalates by itself, exactly once, with two mediation replicas sweeping."""

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import pytest

from contracts import topics
from tests.auth import as_needed
from tests.integration.conftest import Stack, extra_service
from tests.integration.kafka_tools import end_offsets, read_until
from tests.integration.mediation_helpers import get_case, publish_routed, routed_case
from tests.waiting import eventually

pytestmark = pytest.mark.integration
VILLAGE = "hanyin-puxi-dongyuan"


@pytest.fixture
def second_replica(stack: Stack) -> Iterator[str]:
    """Another mediation process on the same database and consumer groups."""
    with extra_service("mediation", stack.env, "mediation-2") as url:
        yield url


async def test_missed_deadline_escalates_exactly_once_with_two_sweepers(
    stack: Stack, second_replica: str
) -> None:
    cases = [routed_case(VILLAGE, accept_within=timedelta(seconds=2)) for _ in range(12)]
    sentinel = routed_case(VILLAGE, accept_within=timedelta(seconds=4))
    ids = {case.case_id for case in cases}
    lifecycle = await end_offsets(stack.infra.kafka, topics.CASES_LIFECYCLE)
    alerts = await end_offsets(stack.infra.kafka, topics.ALERTS)
    await publish_routed(stack.infra.kafka, [*cases, sentinel])
    url = stack.urls["mediation"]
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as http:

        async def escalated(case_id: str) -> dict[str, Any] | None:
            # The stack's router re-routes an escalated case at once: it is either still
            # waiting for that, or already one tier up.
            case = await get_case(http, url, case_id)
            moved = case is not None and (case["awaiting_reroute"] or case["routing_seq"] > 1)
            return case if moved else None

        for case_id in [*ids, sentinel.case_id]:
            await eventually(partial(escalated, case_id), what=f"escalation of {case_id}")
        stored = [await get_case(http, url, case_id) for case_id in ids]

    def seen(value: bytes, kind: str) -> bool:
        return kind in value.decode() and sentinel.case_id in value.decode()

    escalations = await read_until(
        stack.infra.kafka,
        lifecycle,
        lambda rs: any(seen(r.value, "CaseEscalationRequested") for r in rs),
    )
    raised = await read_until(
        stack.infra.kafka, alerts, lambda rs: any(seen(r.value, "deadline_breach") for r in rs)
    )
    # Delivery is at least once: a writer that finds a just-written outbox not yet cleared
    # relays it again under the same ids. Exactly once is one event id per case, by design.
    per_case = _ids_per_case(escalations, "event_type", "CaseEscalationRequested", "event_id")
    alerts_per_case = _ids_per_case(raised, "kind", "deadline_breach", "alert_id")
    for case_id in ids:
        assert len(per_case[case_id]) == 1, case_id
        assert len(alerts_per_case[case_id]) == 1, case_id
    for case in stored:
        assert case is not None
        entries = [e for e in case["timeline"] if e["event"] == "escalation_requested"]
        assert [e["reason"] for e in entries] == ["acceptance_deadline_breach"]
        # Either still waiting for the router, or already moved one tier up by it.
        assert case["allowed_actions"] == [] if case["awaiting_reroute"] else case["tier"] == "town"
        assert case["routing_seq"] <= 2, "the router placed the case once more, not twice"


def _ids_per_case(records: list[Any], field: str, value: str, id_field: str) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = defaultdict(set)
    for record in records:
        event = json.loads(record.value)
        if event[field] == value:
            ids[event["case_id"]].add(event[id_field])
    return ids
