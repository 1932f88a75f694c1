"""Escalation: one tier up with the trace appended; the county is the top and only alerts."""

from datetime import UTC, datetime, timedelta

from contracts.registry import hanyin
from contracts.vocabulary import AlertKind, EscalationReason, Tier
from router.alerts import escalation_alert
from router.policy import Policy
from router.rules import escalate, route
from services.web.i18n import ZH, Translator
from tests.factories import JIANGHE, escalation_of, reported
from tests.wording import assert_reason_worded

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
POLICY = Policy()


def test_failed_village_case_goes_to_its_town_with_the_trace_appended() -> None:
    first = route(reported(occurred_at=NOW), POLICY, hanyin(), NOW)
    later = NOW + timedelta(days=3)
    decision = escalate(
        escalation_of(first, EscalationReason.FAILED, later), POLICY, hanyin(), later
    )
    second = decision.routed
    assert second is not None
    assert (second.tier, second.unit_id, second.routing_seq) == (Tier.TOWN, "hanyin-shuangru", 2)
    assert second.case_id == first.case_id
    assert second.trace[0] == first.trace[0]
    step = second.trace[1]
    assert step.rule == "escalated_from_village"
    assert step.inputs["escalation_reason"] == "failed"
    assert step.inputs["from_unit_id"] == JIANGHE
    assert (step.reason_code, step.reason_params["from_tier"]) == ("escalated", "village")
    assert_reason_worded(step)
    assert second.mediator_id is not None
    assert second.mediator_id.startswith("med-hanyin-shuangru-")
    assert second.resolution_due_at == later + timedelta(days=15)
    assert second.event_id != first.event_id


def test_town_deadline_breach_goes_to_the_county() -> None:
    first = route(reported(occurred_at=NOW, amount_yuan=60_000), POLICY, hanyin(), NOW)
    assert first.tier is Tier.TOWN
    request = escalation_of(first, EscalationReason.RESOLUTION_BREACH, NOW)
    second = escalate(request, POLICY, hanyin(), NOW).routed
    assert second is not None
    assert (second.tier, second.unit_id, second.trace[-1].rule) == (
        Tier.COUNTY,
        "hanyin",
        "escalated_from_town",
    )
    alert = escalation_alert(request, second, NOW)
    assert (alert.kind, alert.unit_id, alert.tier) == (AlertKind.ESCALATION, JIANGHE, Tier.COUNTY)
    assert alert.alert_id == escalation_alert(request, second, NOW + timedelta(hours=1)).alert_id
    title = Translator(ZH).coded("alert_title", alert.title_code, alert.details, alert.title)
    assert title == "案件因超期未化解升级至县级"  # its code and details, worded


def test_county_is_the_top_and_only_alerts() -> None:
    first = route(reported(occurred_at=NOW, amount_yuan=600_000), POLICY, hanyin(), NOW)
    request = escalation_of(first, EscalationReason.FAILED, NOW)
    decision = escalate(request, POLICY, hanyin(), NOW)
    assert decision.routed is None
    alert = escalation_alert(request, None, NOW)
    assert (alert.kind, alert.tier, alert.case_id) == (
        AlertKind.ESCALATION,
        Tier.COUNTY,
        first.case_id,
    )
    assert alert.alert_id.endswith(":top")
    assert alert.title_code == "escalated_at_top"


def test_escalation_is_reproducible() -> None:
    first = route(reported(occurred_at=NOW), POLICY, hanyin(), NOW)
    request = escalation_of(first, EscalationReason.ACCEPTANCE_BREACH, NOW)
    assert escalate(request, POLICY, hanyin(), NOW) == escalate(request, POLICY, hanyin(), NOW)
