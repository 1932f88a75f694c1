"""Event schemas. Events are facts in the past tense; every field is described for the catalogue.

Events ignore unknown fields so an older consumer keeps reading a newer producer's events;
HTTP bodies (in each service's models.py) forbid them instead.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4, uuid5

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.vocabulary import (
    AgreementForm,
    AlertKind,
    Category,
    Channel,
    EscalationReason,
    HouseholdColor,
    PartyKind,
    Priority,
    ReferralTarget,
    RiskFlag,
    Satisfaction,
    Tier,
)

SCHEMA_VERSION = 1
_EVENT_NAMESPACE = UUID("6f1c2a4e-3b7d-4c1e-9a55-2f0d7e8b9c31")

InputValue = str | int | float | bool | list[str] | None


def deterministic_event_id(*parts: str) -> UUID:
    """An event id derived from what caused it, so a re-emitted event keeps its id."""
    return uuid5(_EVENT_NAMESPACE, "/".join(parts))


class Event(BaseModel):
    """The envelope every event shares."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: UUID = Field(default_factory=uuid4, description="Unique id; consumers dedupe by it.")
    occurred_at: AwareDatetime = Field(description="When the fact happened (UTC).")
    correlation_id: str = Field(
        min_length=1, description="Ties every event of one report together (the dispute id)."
    )
    schema_version: int = Field(default=SCHEMA_VERSION, description="Version of this schema.")


class Party(BaseModel):
    """One side of a dispute. Phone numbers travel only as a salted hash and a sealed envelope."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: PartyKind = Field(default=PartyKind.PERSON, description="Who the party is.")
    name: str = Field(default="", max_length=100, description="Name as given by the reporter.")
    village_id: str | None = Field(default=None, description="Village the party lives in.")
    household_id: str | None = Field(default=None, description="Registered household, if known.")
    household_color: HouseholdColor | None = Field(
        default=None, description="green 放心户 / yellow 关心户 / red 连心户."
    )
    phone_hash: str | None = Field(
        default=None, description="Salted hash of the phone, for duplicate and rebound matching."
    )
    sealed_contact: str | None = Field(
        default=None, description="AES-GCM envelope of the contact details, opened by mediation."
    )


class Dispute(BaseModel):
    """What was reported, normalised across channels."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    dispute_id: str = Field(description="Id given by intake; also the case id downstream.")
    tracking_number: str = Field(description="Human tracking number, e.g. HY-20261121-000123.")
    channel: Channel = Field(description="How the report arrived.")
    category: Category = Field(description="Dispute category code.")
    description: str = Field(max_length=10_000, description="Free description, usually Chinese.")
    village_id: str | None = Field(default=None, description="Village where it happened.")
    grid_id: str | None = Field(default=None, description="Basic grid, when the reporter knew it.")
    address_text: str | None = Field(default=None, description="Place as spoken or written.")
    parties: tuple[Party, ...] = Field(default=(), description="The parties involved.")
    people_involved: int = Field(default=1, ge=1, description="Number of people involved.")
    amount_yuan: float = Field(default=0, ge=0, description="Amount at stake in yuan.")
    risk_flags: tuple[RiskFlag, ...] = Field(default=(), description="Risk flags raised.")
    incident_at: AwareDatetime | None = Field(default=None, description="When it happened.")
    needs_triage: bool = Field(default=False, description="Place or nature unclear: county desk.")
    triage_reason: str | None = Field(default=None, description="Why it needs triage.")
    possible_duplicate_of: str | None = Field(
        default=None, description="An earlier dispute with the same parties, village and category."
    )

    def match_keys(self) -> tuple[str, ...]:
        """Keys under which "the same dispute" is recognised again: one per hashed party
        identifier, within the same village and category. Never built from raw numbers."""
        place = self.village_id or self.grid_id or ""
        hashes = sorted({party.phone_hash for party in self.parties if party.phone_hash})
        return tuple(f"{place}|{self.category.value}|{digest}" for digest in hashes)


class DisputeReported(Event):
    """A report was accepted by intake and given a tracking number."""

    event_type: Literal["DisputeReported"] = "DisputeReported"
    dispute: Dispute = Field(description="The normalised report.")


class RoutingStep(BaseModel):
    """One routing decision and why it was made: "why did it go there?" always has an answer."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    tier: Tier = Field(description="Tier chosen.")
    unit_id: str = Field(description="Jurisdiction unit whose mediators take the case.")
    rule: str = Field(description="Id of the policy rule that matched.")
    reason: str = Field(description="The rule in words (English, for API and log readers).")
    reason_code: str | None = Field(
        default=None,
        description="The reason as a code (contracts.vocabulary.RoutingReason), for readers who "
        "word it in their own language; None in steps decided before codes were recorded.",
    )
    reason_params: dict[str, InputValue] = Field(
        default_factory=dict, description="The facts the reason names, by name."
    )
    inputs: dict[str, InputValue] = Field(description="The input values the rule looked at.")
    policy_version: str = Field(description="Content hash of the policy in force.")
    decided_at: AwareDatetime = Field(description="When the decision was made.")


class CaseRouted(Event):
    """The router placed a case at a tier and unit (again, after an escalation)."""

    event_type: Literal["CaseRouted"] = "CaseRouted"
    case_id: str = Field(description="Case id (equals the dispute id).")
    routing_seq: int = Field(
        default=1, ge=1, description="1 for the first routing, +1 per re-route."
    )
    dispute: Dispute = Field(description="The report the case is about.")
    tier: Tier = Field(description="Tier now responsible.")
    unit_id: str = Field(description="Unit now responsible.")
    mediator_id: str | None = Field(default=None, description="Mediator chosen, if any.")
    priority: Priority = Field(description="Queue priority.")
    urgent: bool = Field(default=False, description="A risk flag makes the case urgent.")
    acceptance_due_at: datetime = Field(description="Accept before this time.")
    resolution_due_at: datetime = Field(description="Resolve before this time.")
    trace: tuple[RoutingStep, ...] = Field(description="Every routing decision, oldest first.")
    rebound_of: str | None = Field(
        default=None, description="A resolved case this report re-opens (a rebound), if any."
    )
    top: bool | None = Field(
        default=None,
        description="The unit is the top of its ladder: escalation there only alerts. Absent "
        "from events older than the prefecture tier, whose top was always the county.",
    )


def is_top(tier: Tier, top: bool | None) -> bool:
    """Whether a case at `tier` can go no higher (`top` unknown: the county was the top)."""
    return top if top is not None else tier in (Tier.COUNTY, Tier.PREFECTURE)


class CaseEvent(Event):
    """What every lifecycle event says: which case, and who holds it now."""

    case_id: str = Field(description="Case id.")
    tier: Tier = Field(description="Tier holding the case when this happened.")
    unit_id: str = Field(description="Unit holding the case when this happened.")
    mediator_id: str | None = Field(default=None, description="Mediator holding the case, if any.")
    origin_tier: Tier | None = Field(
        default=None, description="Tier the case started at, for the kept-at-origin rate."
    )
    started_at: AwareDatetime | None = Field(
        default=None, description="When the case was first routed, for time to resolution."
    )
    channel: Channel | None = Field(default=None, description="How the report arrived.")
    category: Category | None = Field(default=None, description="Dispute category code.")


class CaseAssigned(CaseEvent):
    """The case entered a unit's queue, for a mediator when one was chosen."""

    event_type: Literal["CaseAssigned"] = "CaseAssigned"
    routing_seq: int = Field(ge=1, description="Routing this assignment follows.")
    tracking_number: str = Field(description="Tracking number of the report.")
    priority: Priority = Field(description="Queue priority.")
    acceptance_due_at: datetime = Field(description="Accept before this time.")


class CaseAccepted(CaseEvent):
    """A mediator took the case on."""

    event_type: Literal["CaseAccepted"] = "CaseAccepted"
    mediator_id: str = Field(description="Mediator who accepted.")
    on_time: bool = Field(description="Accepted before the acceptance deadline.")


class MediationSessionHeld(CaseEvent):
    """A mediation session took place."""

    event_type: Literal["MediationSessionHeld"] = "MediationSessionHeld"
    session_no: int = Field(ge=1, description="1 for the first session of the case.")
    held_at: AwareDatetime = Field(description="When the session was held.")
    participants: tuple[str, ...] = Field(default=(), description="Who took part.")
    notes: str = Field(default="", max_length=10_000, description="What was said and agreed.")


class CaseResolved(CaseEvent):
    """The parties reached an agreement."""

    event_type: Literal["CaseResolved"] = "CaseResolved"
    agreement: AgreementForm = Field(description="Oral or written agreement.")
    summary: str = Field(default="", max_length=10_000, description="Terms of the agreement.")
    on_time: bool = Field(description="Resolved before the resolution deadline.")
    match_keys: tuple[str, ...] = Field(
        default=(), description="Dispute.match_keys() of the case, to recognise a rebound."
    )


class CaseFailed(CaseEvent):
    """No agreement at this tier; the case will be escalated."""

    event_type: Literal["CaseFailed"] = "CaseFailed"
    reason: str = Field(default="", max_length=10_000, description="Why mediation failed.")


class CaseReferred(CaseEvent):
    """The case left mediation for another institution."""

    event_type: Literal["CaseReferred"] = "CaseReferred"
    referred_to: ReferralTarget = Field(description="Court, arbitration, police or bureau.")
    notes: str = Field(default="", max_length=10_000, description="Why and to whom.")


class CaseWithdrawn(CaseEvent):
    """The complainant withdrew the case."""

    event_type: Literal["CaseWithdrawn"] = "CaseWithdrawn"
    reason: str = Field(default="", max_length=10_000, description="Why it was withdrawn.")


class AgreementFollowedUp(CaseEvent):
    """Whether a resolved case's agreement was carried out."""

    event_type: Literal["AgreementFollowedUp"] = "AgreementFollowedUp"
    fulfilled: bool = Field(description="The agreement was carried out.")
    notes: str = Field(default="", max_length=10_000, description="What was found.")


class ReturnVisitRecorded(CaseEvent):
    """The return visit (回访) after a resolution, with the parties' satisfaction."""

    event_type: Literal["ReturnVisitRecorded"] = "ReturnVisitRecorded"
    satisfaction: Satisfaction = Field(description="Satisfied, basically, or dissatisfied.")
    notes: str = Field(default="", max_length=10_000, description="What the parties said.")


class CaseReopened(CaseEvent):
    """A resolved case was reported again (a rebound) and its chain reopened."""

    event_type: Literal["CaseReopened"] = "CaseReopened"
    rebound_dispute_id: str = Field(description="The new report that reopened the case.")


class CaseReassigned(CaseEvent):
    """A supervisor or the unit's lead handed the open case to another of the unit's mediators
    (`mediator_id`); the case's sealed contacts are theirs to open from now on."""

    event_type: Literal["CaseReassigned"] = "CaseReassigned"
    mediator_id: str = Field(description="Mediator holding the case from now on.")
    previous_mediator_id: str | None = Field(description="Mediator who held it before.")
    by: str = Field(description="Who reassigned it.")
    routing_seq: int = Field(ge=1, description="Routing the case is at.")


class ReportJoined(CaseEvent):
    """A report of a dispute whose rebound chain is still open (`case_id` is the report's own
    id) joined the chain's open case `joined_to` instead of opening a case of its own."""

    event_type: Literal["ReportJoined"] = "ReportJoined"
    joined_to: str = Field(description="The chain's open case the report was added to.")
    rebound_of: str = Field(description="The resolved case the report is a rebound of.")
    tracking_number: str = Field(description="Tracking number of the joined report.")


class CaseEscalationRequested(CaseEvent):
    """Mediation asks the router to move the case one tier up."""

    event_type: Literal["CaseEscalationRequested"] = "CaseEscalationRequested"
    reason: EscalationReason = Field(description="Failure or a missed deadline.")
    routing_seq: int = Field(ge=1, description="The routing being escalated; the next is +1.")
    dispute: Dispute = Field(description="The report, so the router can decide again alone.")
    trace: tuple[RoutingStep, ...] = Field(description="The routing so far, oldest first.")
    top: bool | None = Field(
        default=None, description="The case is at the top of its ladder: this only alerts."
    )

    @property
    def at_top(self) -> bool:
        return is_top(self.tier, self.top)


LifecycleEvent = Annotated[
    CaseAssigned
    | CaseAccepted
    | MediationSessionHeld
    | CaseResolved
    | CaseFailed
    | CaseReferred
    | CaseWithdrawn
    | AgreementFollowedUp
    | ReturnVisitRecorded
    | CaseReopened
    | CaseReassigned
    | ReportJoined
    | CaseEscalationRequested,
    Field(discriminator="event_type"),
]
"""Everything published on the lifecycle topic, told apart by `event_type`."""


class AlertRaised(Event):
    """Something supervisors of the unit and every unit above it must hear about."""

    event_type: Literal["AlertRaised"] = "AlertRaised"
    alert_id: str = Field(description="Stable id: the same cause always gives the same alert id.")
    kind: AlertKind = Field(description="escalation, deadline_breach, urgent_risk, ...")
    priority: Priority = Field(description="How pressing the alert is.")
    unit_id: str = Field(
        description="Where it happened (the village for a case); its ancestors are told too."
    )
    case_id: str | None = Field(default=None, description="The case, when about one.")
    tier: Tier | None = Field(default=None, description="Tier of the case, when about one.")
    title: str = Field(description="One line for people, Chinese first.")
    title_code: str | None = Field(
        default=None,
        description="The title as a code (contracts.vocabulary.AlertTitle) naming facts of "
        "`details`, for readers who word it in their own language; None in older alerts.",
    )
    details: dict[str, Any] = Field(default_factory=dict, description="Facts behind the alert.")
