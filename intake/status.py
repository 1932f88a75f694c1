"""What became of a report, from the downstream events. Pure: events in, entries and views out.

Each event becomes one status entry keyed by case id and event id, so a redelivered event
inserts nothing new.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from contracts.events import (
    AgreementFollowedUp,
    CaseAccepted,
    CaseAssigned,
    CaseEscalationRequested,
    CaseEvent,
    CaseFailed,
    CaseReferred,
    CaseReopened,
    CaseResolved,
    CaseRouted,
    CaseWithdrawn,
    MediationSessionHeld,
    ReportJoined,
    ReturnVisitRecorded,
)

# Same-instant events sort in the order the chain produces them.
ORDER = (
    "received",
    "routed",
    "assigned",
    "accepted",
    "in_mediation",
    "followed_up",
    "return_visit",
    "failed",
    "escalated",
    "referred",
    "withdrawn",
    "resolved",
    "reopened",
    "joined",
)
CLOSED = frozenset({"resolved", "referred", "withdrawn"})
"""Open311 says `closed` for these; anything else is still `open`."""
NOT_A_STATE = frozenset({"followed_up", "return_visit"})
"""Recorded in the history without changing where the case stands."""

_LIFECYCLE_STATUS: dict[type[CaseEvent], str] = {
    CaseAssigned: "assigned",
    CaseAccepted: "accepted",
    MediationSessionHeld: "in_mediation",
    CaseResolved: "resolved",
    CaseFailed: "failed",
    CaseReferred: "referred",
    CaseWithdrawn: "withdrawn",
    AgreementFollowedUp: "followed_up",
    ReturnVisitRecorded: "return_visit",
    CaseReopened: "reopened",
    CaseEscalationRequested: "escalated",
    ReportJoined: "joined",
}

NOTES = {
    "received": "已受理，等待分派 (received)",
    "routed": "已分派至{tier}级 {unit_id} (routed)",
    "assigned": "已进入调解员队列 {unit_id} (assigned)",
    "accepted": "调解员已接案 (accepted)",
    "in_mediation": "调解进行中 (in mediation)",
    "followed_up": "协议履行回访 (agreement followed up)",
    "return_visit": "已回访 (return visit)",
    "failed": "本级调解未成 (failed)",
    "escalated": "已申请上报上级 (escalation requested)",
    "referred": "已移交 {detail} (referred)",
    "withdrawn": "当事人撤回 (withdrawn)",
    "resolved": "已调解成功 (resolved)",
    "reopened": "重新受理 (reopened)",
    "joined": "已并入正在办理的同一纠纷 {unit_id} (joined the open case of the same dispute)",
}
_TIER_NAMES = {"grid": "网格", "village": "村", "town": "镇", "county": "县"}


def entry_id(case_id: str, event_id: object) -> str:
    return f"{case_id}|{event_id}"


def routed_entry(event: CaseRouted) -> dict[str, Any]:
    return {
        "_id": entry_id(event.case_id, event.event_id),
        "dispute_id": event.case_id,
        "status": "routed",
        "at": event.occurred_at,
        "tier": event.tier.value,
        "unit_id": event.unit_id,
        "mediator_id": event.mediator_id,
        "detail": f"routing {event.routing_seq}",
    }


def lifecycle_entry(event: CaseEvent) -> dict[str, Any] | None:
    status = _LIFECYCLE_STATUS.get(type(event))
    if status is None:
        return None
    detail = event.referred_to.value if isinstance(event, CaseReferred) else None
    return {
        "_id": entry_id(event.case_id, event.event_id),
        "dispute_id": event.case_id,
        "status": status,
        "at": event.occurred_at,
        "tier": event.tier.value,
        "unit_id": event.unit_id,
        "mediator_id": event.mediator_id,
        "detail": detail,
    }


class StatusStep(BaseModel):
    status: str
    at: datetime
    tier: str | None = None
    unit_id: str | None = None
    note: str


class DisputeStatus(BaseModel):
    """What the submitter may read back: where the report stands, never who the parties are."""

    dispute_id: str
    tracking_number: str
    channel: str
    category: str
    village_id: str | None
    grid_id: str | None
    needs_triage: bool
    triage_reason: str | None
    possible_duplicate_of: str | None
    received_at: datetime
    status: str
    open: bool
    tier: str | None
    unit_id: str | None
    mediator_id: str | None
    history: list[StatusStep]
    risk_flags: list[str] = []
    """The risk signs the report carried: who takes a call about it must see them."""


def _note(entry: dict[str, Any]) -> str:
    tier = _TIER_NAMES.get(entry.get("tier") or "", entry.get("tier") or "")
    return NOTES[entry["status"]].format(
        tier=tier, unit_id=entry.get("unit_id") or "", detail=entry.get("detail") or ""
    )


def _rank(entry: dict[str, Any]) -> tuple[datetime, int]:
    return entry["at"], ORDER.index(entry["status"])


def dispute_status(dispute: dict[str, Any], entries: list[dict[str, Any]]) -> DisputeStatus:
    """`dispute` is the stored dispute document; `entries` its status entries in any order."""
    received = {"status": "received", "at": dispute["received_at"]}
    steps = sorted([received, *entries], key=_rank)
    current = [step for step in steps if step["status"] not in NOT_A_STATE][-1]
    placed = [step for step in steps if step.get("unit_id")]
    holder = placed[-1] if placed else {}
    body = dispute["dispute"]
    return DisputeStatus(
        dispute_id=dispute["_id"],
        tracking_number=body["tracking_number"],
        channel=body["channel"],
        category=body["category"],
        village_id=body.get("village_id"),
        grid_id=body.get("grid_id"),
        needs_triage=body.get("needs_triage", False),
        triage_reason=body.get("triage_reason"),
        possible_duplicate_of=body.get("possible_duplicate_of"),
        received_at=dispute["received_at"],
        status=current["status"],
        open=current["status"] not in CLOSED,
        tier=holder.get("tier"),
        unit_id=holder.get("unit_id"),
        mediator_id=holder.get("mediator_id"),
        risk_flags=list(body.get("risk_flags", [])),
        history=[
            StatusStep(
                status=step["status"],
                at=step["at"],
                tier=step.get("tier"),
                unit_id=step.get("unit_id"),
                note=_note(step),
            )
            for step in steps
        ],
    )
