"""Alerts the router raises (pure): a case moved up a tier or hit the top, a unit is saturated.

Alert ids come from their cause, so a redelivered request raises the same alert id again and
the notifier can drop the repeat.
"""

from datetime import datetime

from contracts.events import AlertRaised, CaseEscalationRequested, CaseRouted
from contracts.vocabulary import AlertKind, AlertTitle, Priority

_TIER_NAMES = {
    "village": "村调委会",
    "town": "镇矛调中心",
    "county": "县矛调中心",
    "prefecture": "州（市）矛调中心",
}


def _where(request: CaseEscalationRequested) -> str:
    """Where it happened, so the supervisors of that village and every unit above it hear."""
    dispute = request.dispute
    return dispute.village_id or dispute.grid_id or request.unit_id


def escalation_alert(
    request: CaseEscalationRequested, routed: CaseRouted | None, raised_at: datetime
) -> AlertRaised:
    details: dict[str, object] = {
        "reason": request.reason.value,
        "from_tier": request.tier.value,
        "from_unit_id": request.unit_id,
        "routing_seq": request.routing_seq,
        "tracking_number": request.dispute.tracking_number,
    }
    if routed is None:
        return AlertRaised(
            occurred_at=raised_at,
            correlation_id=request.correlation_id,
            alert_id=f"escalation:{request.case_id}:{request.routing_seq}:top",
            kind=AlertKind.ESCALATION,
            priority=Priority.URGENT,
            unit_id=_where(request),
            case_id=request.case_id,
            tier=request.tier,
            title=f"{_TIER_NAMES.get(request.tier.value, request.tier.value)}调解未能化解，"
            f"已无上级可移交 / {request.tier.value} tier failed: no higher tier",
            title_code=AlertTitle.ESCALATED_AT_TOP,
            details=details,
        )
    details |= {"to_tier": routed.tier.value, "to_unit_id": routed.unit_id}
    return AlertRaised(
        occurred_at=raised_at,
        correlation_id=request.correlation_id,
        alert_id=f"escalation:{request.case_id}:{routed.routing_seq}",
        kind=AlertKind.ESCALATION,
        priority=Priority.HIGH,
        unit_id=_where(request),
        case_id=request.case_id,
        tier=routed.tier,
        title=f"案件升级至{_TIER_NAMES.get(routed.tier.value, routed.tier.value)} / "
        f"case escalated to {routed.tier.value} tier",
        title_code=AlertTitle.ESCALATED,
        details=details,
    )


def saturation_alert(routed: CaseRouted, max_open_cases: int) -> AlertRaised:
    """Keyed by the unit: a unit alert, about the case that found it full."""
    step = routed.trace[-1]
    return AlertRaised(
        occurred_at=routed.occurred_at,
        correlation_id=routed.unit_id,
        alert_id=f"unit_saturated:{routed.unit_id}:{routed.case_id}",
        kind=AlertKind.UNIT_SATURATED,
        priority=Priority.HIGH,
        unit_id=routed.unit_id,
        case_id=routed.case_id,
        tier=routed.tier,
        title="调解员案件已满，案件仍留本级 / every mediator of the unit is full; case kept here",
        title_code=AlertTitle.UNIT_SATURATED,
        details={
            "max_open_cases_per_mediator": max_open_cases,
            "mediator_loads": step.inputs.get("mediator_loads"),
            "policy_version": step.policy_version,
        },
    )
