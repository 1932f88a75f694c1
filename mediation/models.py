"""The case document, its outbox entries, its views and the HTTP bodies. Pure: no I/O here."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from contracts import topics
from contracts.events import AlertRaised, CaseRouted, Dispute, Event, RoutingStep
from contracts.vocabulary import (
    AgreementForm,
    CaseState,
    Category,
    Channel,
    Priority,
    ReferralTarget,
    RiskFlag,
    Satisfaction,
    Tier,
)
from mediation.lifecycle import (
    MAX_CLOCK_SKEW,
    Case,
    Reroute,
    allowed_actions,
    assignment_entry,
    assignment_fields,
    decide,
)
from services.errors import FieldProblem, problem

OPEN_STATES = (CaseState.ASSIGNED, CaseState.ACCEPTED, CaseState.IN_MEDIATION, CaseState.REOPENED)


def case_document(routed: CaseRouted) -> dict[str, Any]:
    """A new case as stored: keyed by case id so a redelivered event cannot create a second one.

    `origin_*` and `started_at` never change afterwards: the metrics read them as the case's
    facts (kept-at-origin, time to resolution)."""
    dispute = routed.dispute
    return {
        "_id": routed.case_id,
        "version": 1,
        "correlation_id": routed.correlation_id,
        "tracking_number": dispute.tracking_number,
        **assignment_fields(routed),
        "origin_tier": (routed.trace[0].tier if routed.trace else routed.tier).value,
        "origin_unit_id": routed.trace[0].unit_id if routed.trace else routed.unit_id,
        "started_at": routed.trace[0].decided_at if routed.trace else routed.occurred_at,
        "reported_at": dispute.incident_at,
        "channel": dispute.channel.value,
        "category": dispute.category.value,
        "village_id": dispute.village_id,
        "rebound_of": routed.rebound_of,
        "dispute": dispute.model_dump(mode="json"),
        "sessions": 0,
        "breaches": [],
        "outbox": [],
        "timeline": [assignment_entry(routed)],
    }


def routed_document(chain: list[CaseRouted]) -> dict[str, Any]:
    """A new case as its routings so far make it (oldest first): the first stored, each later
    one applied as a re-route, so the document is what applying them one by one would give."""
    document = case_document(chain[0])
    for routed in chain[1:]:
        decision = decide(case_of(document), Reroute(routed))
        document.update(decision.changes, version=document["version"] + 1)
        document["timeline"] = [*document["timeline"], *decision.timeline]
    return document


def case_of(document: dict[str, Any]) -> Case:
    """The state machine's view of a stored case."""
    return Case(
        case_id=document["_id"],
        correlation_id=document.get("correlation_id") or document["_id"],
        state=CaseState(document["state"]),
        version=int(document.get("version", 1)),
        tier=Tier(document["tier"]),
        unit_id=document["unit_id"],
        mediator_id=document.get("mediator_id"),
        routing_seq=int(document["routing_seq"]),
        priority=Priority(document["priority"]),
        urgent=bool(document.get("urgent")),
        acceptance_due_at=_utc(document["acceptance_due_at"]),
        resolution_due_at=_utc(document["resolution_due_at"]),
        dispute=Dispute.model_validate(document["dispute"]),
        trace=tuple(RoutingStep.model_validate(step) for step in document.get("trace", ())),
        sessions=int(document.get("sessions", 0)),
        followed_up=bool(document.get("followed_up")),
        visited=bool(document.get("visited")),
        awaiting_reroute=bool(document.get("awaiting_reroute")),
        breaches=tuple(document.get("breaches", ())),
        origin_tier=Tier(document["origin_tier"]) if document.get("origin_tier") else None,
        started_at=_utc(document["started_at"]) if document.get("started_at") else None,
        last_entry_at=_last_entry_at(document.get("timeline", ())),
        joined=tuple(document.get("joined_reports", ())),
        top=document.get("top"),
    )


def _last_entry_at(timeline: Iterable[dict[str, Any]]) -> datetime | None:
    dated = (_utc(entry["at"]) for entry in timeline if isinstance(entry.get("at"), datetime))
    return max(dated, default=None)


def _utc(value: datetime) -> datetime:
    """Stored datetimes come back aware; naive ones (other drivers) are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def topic_of(event: Event) -> str:
    return topics.ALERTS if isinstance(event, AlertRaised) else topics.CASES_LIFECYCLE


def outbox_entries(events: Iterable[Event], queued_at: datetime) -> list[dict[str, Any]]:
    """Pending events as stored beside the state change they announce.

    Milliseconds only: that is what the database keeps, and clearing an entry matches it whole.
    """
    at = queued_at.replace(microsecond=queued_at.microsecond // 1000 * 1000)
    return [
        {
            "event_id": str(event.event_id),
            "topic": topic_of(event),
            "payload": event.model_dump_json(),
            "queued_at": at,
        }
        for event in events
    ]


# ---- views ------------------------------------------------------------------------------------


class QueueItem(BaseModel):
    """A case in a queue, with what marks it out: its risk flags, and the earlier case it is a
    rebound of (`rebound_of`, a resolved case reopened by this report) or possibly duplicates
    (`possible_duplicate_of`, intake's finding), each a case id the console links to."""

    case_id: str = Field(validation_alias="_id")
    tracking_number: str
    state: CaseState
    tier: Tier
    unit_id: str
    mediator_id: str | None
    priority: Priority
    urgent: bool
    category: Category
    channel: Channel
    village_id: str | None
    acceptance_due_at: datetime
    resolution_due_at: datetime
    routing_seq: int = 1
    rebound_of: str | None = None
    possible_duplicate_of: str | None = None
    risk_flags: list[RiskFlag] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _marks_from_the_dispute(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("dispute"), dict):
            dispute = data["dispute"]
            data = {
                "risk_flags": dispute.get("risk_flags") or [],
                "possible_duplicate_of": dispute.get("possible_duplicate_of"),
                **data,
            }
        return data


QUEUE_PROJECTION = {
    "timeline": 0,
    "trace": 0,
    "outbox": 0,
    "dispute.description": 0,
    "dispute.parties": 0,
    "dispute.address_text": 0,
}
"""A queue row reads the case's marks from its dispute, and none of its long or sealed parts."""


class CaseView(QueueItem):
    version: int = 1
    allowed_actions: list[str]
    awaiting_reroute: bool = False
    origin_tier: Tier | None = None
    sessions: int = 0
    dispute: dict[str, Any]
    trace: list[RoutingStep]
    timeline: list[dict[str, Any]]


def case_view(document: dict[str, Any]) -> CaseView:
    return CaseView.model_validate(
        {**document, "allowed_actions": allowed_actions(case_of(document))}
    )


class ActionResult(BaseModel):
    case_id: str
    state: CaseState
    version: int
    allowed_actions: list[str]
    events: list[str] = Field(description="Types of the events the action published.")


# ---- HTTP bodies ------------------------------------------------------------------------------

MediatorId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        description="Who acts: the signed-in mediator (the token's subject) when absent; "
        "when given it must be that same mediator.",
    ),
]
Text = Annotated[str, Field(max_length=10_000)]
Reason = Annotated[str, Field(min_length=1, max_length=10_000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mediator_id: MediatorId | None = None
    at: AwareDatetime | None = Field(
        default=None,
        description="When it happened, when recorded afterwards; now if absent, never later.",
    )

    @field_validator("at")
    @classmethod
    def _not_in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > datetime.now(UTC) + MAX_CLOCK_SKEW:
            raise problem(FieldProblem.IN_FUTURE, "lies in the future")
        return value

    def when(self, now: datetime) -> datetime:
        return self.at or now


class AcceptBody(Body):
    pass


class ReassignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mediator_id: MediatorId = Field(description="The unit's mediator who holds the case next.")


class SessionBody(Body):
    held_at: AwareDatetime
    participants: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=100
    )
    notes: Text = ""


class ResolvedOutcome(Body):
    outcome: Literal["resolved"]
    agreement: AgreementForm
    summary: Reason


class FailedOutcome(Body):
    outcome: Literal["failed"]
    reason: Reason


class ReferredOutcome(Body):
    outcome: Literal["referred"]
    referred_to: ReferralTarget
    notes: Text = ""


class WithdrawnOutcome(Body):
    outcome: Literal["withdrawn"]
    reason: Reason


OutcomeBody = Annotated[
    ResolvedOutcome | FailedOutcome | ReferredOutcome | WithdrawnOutcome,
    Field(discriminator="outcome"),
]
OUTCOME_BODY: TypeAdapter[OutcomeBody] = TypeAdapter(OutcomeBody)


class FollowUpBody(Body):
    fulfilled: bool
    notes: Text = ""


class VisitBody(Body):
    satisfaction: Satisfaction
    notes: Text = ""
