"""Standing in for the router in mediation's integration tests: routed cases, published as
the router would, with deadlines and tiers chosen by the test."""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from contracts import topics
from contracts.events import CaseRouted, Dispute, RoutingStep
from contracts.registry import hanyin
from contracts.vocabulary import Category, Channel, Priority, Tier
from tests.factories import dispute as a_dispute


def routed_case(
    village: str,
    *,
    tier: Tier = Tier.VILLAGE,
    unit_id: str | None = None,
    routing_seq: int = 1,
    decided_at: datetime | None = None,
    accept_within: timedelta = timedelta(hours=24),
    resolve_within: timedelta = timedelta(days=7),
    channel: Channel = Channel.HOTLINE,
    category: Category = Category.NEIGHBOUR,
    priority: Priority = Priority.NORMAL,
    dispute: Dispute | None = None,
    trace: tuple[RoutingStep, ...] = (),
    rebound_of: str | None = None,
    now: datetime | None = None,
) -> CaseRouted:
    """A routing decision; deadlines run from `now` (not from `decided_at`), as the test says."""
    now = now or datetime.now(UTC)
    decided_at = decided_at or now
    dispute = dispute or a_dispute(
        dispute_id=str(uuid.uuid4()), village_id=village, channel=channel, category=category
    )
    unit_id = unit_id or _unit_for(village, tier)
    step = RoutingStep(
        tier=tier,
        unit_id=unit_id,
        rule=f"test_{tier.value}",
        reason="chosen by the test standing in for the router",
        inputs={"village_id": village},
        policy_version="test",
        decided_at=decided_at,
    )
    return CaseRouted(
        occurred_at=decided_at,
        correlation_id=dispute.dispute_id,
        case_id=dispute.dispute_id,
        routing_seq=routing_seq,
        dispute=dispute,
        tier=tier,
        unit_id=unit_id,
        priority=priority,
        urgent=priority is Priority.URGENT,
        acceptance_due_at=now + accept_within,
        resolution_due_at=now + resolve_within,
        trace=(*trace, step),
        rebound_of=rebound_of,
    )


def _unit_for(village: str, tier: Tier) -> str:
    if tier is Tier.TOWN:
        return hanyin().parent_of(village) or village
    if tier is Tier.COUNTY:
        return "hanyin"
    return village


def rerouted(first: CaseRouted, tier: Tier, **overrides: Any) -> CaseRouted:
    """What the router publishes after an escalation: same case, next tier, seq + 1."""
    village = first.dispute.village_id or first.unit_id
    return routed_case(
        village,
        tier=tier,
        routing_seq=first.routing_seq + 1,
        dispute=first.dispute,
        trace=first.trace,
        **overrides,
    )


async def publish_routed(bootstrap: str, events: Iterable[CaseRouted]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            await producer.send(
                topics.CASES_ROUTED, event.model_dump_json().encode(), key=event.case_id.encode()
            )
        await producer.flush()
    finally:
        await producer.stop()


async def get_case(client: httpx.AsyncClient, url: str, case_id: str) -> dict[str, Any] | None:
    response = await client.get(f"{url}/v1/cases/{case_id}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    case: dict[str, Any] = response.json()
    return case


def mediator_of(unit_id: str) -> str:
    return f"med-{unit_id}-1"
