"""The metrics arithmetic: what each event adds, roll-up, and figures from buckets."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from uuid import uuid4

from contracts.events import (
    CaseAssigned,
    CaseEscalationRequested,
    CaseFailed,
    CaseResolved,
    ReturnVisitRecorded,
)
from contracts.vocabulary import AgreementForm, EscalationReason, Priority, Satisfaction, Tier
from mediation.metrics import (
    Facts,
    backlog_change,
    batch_increments,
    day_of,
    figures,
    prometheus_text,
    quantile_hours,
    summarise,
    ttr_bucket,
)
from tests.factories import JIANGHE, dispute

START = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
FACTS = Facts(origin_tier="village", started_at=START, channel="hotline", category="neighbour")


def envelope(tier: Tier = Tier.VILLAGE, unit: str = JIANGHE, hours: float = 0) -> dict[str, object]:
    return {
        "event_id": uuid4(),
        "occurred_at": START + timedelta(hours=hours),
        "correlation_id": "c1",
        "case_id": "c1",
        "tier": tier,
        "unit_id": unit,
    }


def assigned(seq: int = 1, **kw: object) -> CaseAssigned:
    return CaseAssigned(
        **envelope(**kw),  # type: ignore[arg-type]
        routing_seq=seq,
        tracking_number="HY-1",
        priority=Priority.NORMAL,
        acceptance_due_at=START,
    )


def resolved(hours: float, tier: Tier = Tier.VILLAGE, unit: str = JIANGHE) -> CaseResolved:
    return CaseResolved(
        **envelope(tier, unit, hours),
        agreement=AgreementForm.ORAL,
        on_time=hours < 24,
    )


def test_day_is_the_china_calendar_day() -> None:
    assert day_of(datetime(2026, 11, 22, 15, 59, tzinfo=UTC)) == "2026-11-22"
    assert day_of(datetime(2026, 11, 22, 16, 0, tzinfo=UTC)) == "2026-11-23"


def test_buckets_and_nearest_rank_quantiles() -> None:
    assert [ttr_bucket(h) for h in (0.5, 1, 1.5, 23, 24.5, 5000)] == [0, 0, 1, 5, 6, 15]
    buckets = [0] * 16
    buckets[0], buckets[3], buckets[6] = 5, 4, 1  # 10 values
    assert quantile_hours(buckets, Fraction(1, 2)) == 1.0  # rank 5 lies in bucket 0
    assert quantile_hours(buckets, Fraction(9, 10)) == 8.0  # rank 9 lies in bucket 3
    assert quantile_hours([0] * 16, Fraction(1, 2)) is None


def test_an_event_counts_for_its_unit_and_every_unit_above() -> None:
    increments = batch_increments([(resolved(3), FACTS)])
    units = {item.keys["unit"] for item in increments.values()}
    assert units == {JIANGHE, "hanyin-shuangru", "hanyin"}
    county = increments["hanyin|2026-11-22|all|"]
    assert county.inc["resolved"] == 1
    assert county.inc["resolved_at_origin"] == 1
    assert county.inc["ttr_02"] == 1  # 3 hours: bucket (2, 4]
    assert increments["hanyin|2026-11-22|channel|hotline"].inc["resolved"] == 1
    assert increments["hanyin|backlog"].inc["open"] == -1


def test_batch_sums_per_document() -> None:
    batch = [(resolved(1), FACTS), (resolved(10), FACTS), (assigned(), FACTS)]
    county = batch_increments(batch)["hanyin|2026-11-22|all|"]
    assert (county.inc["resolved"], county.inc["assigned"], county.inc["started"]) == (2, 1, 1)
    assert batch_increments(batch)["hanyin|backlog"].inc["open"] == -1


def test_resolution_at_another_tier_is_not_kept_at_origin() -> None:
    town = resolved(5, Tier.TOWN, "hanyin-shuangru")
    counts = batch_increments([(town, FACTS)])["hanyin|2026-11-22|all|"].inc
    assert counts["resolved"] == 1
    assert counts["resolved_at_origin"] == 0


def test_backlog_leaves_with_a_breach_below_the_county_only() -> None:
    def escalation(reason: EscalationReason, tier: Tier) -> CaseEscalationRequested:
        return CaseEscalationRequested(
            **envelope(tier),
            reason=reason,
            routing_seq=1,
            dispute=dispute(),
            trace=(),
        )

    assert backlog_change(escalation(EscalationReason.ACCEPTANCE_BREACH, Tier.VILLAGE)) == -1
    assert backlog_change(escalation(EscalationReason.ACCEPTANCE_BREACH, Tier.COUNTY)) == 0
    assert backlog_change(escalation(EscalationReason.FAILED, Tier.VILLAGE)) == 0
    assert backlog_change(CaseFailed(**envelope())) == -1


def test_figures() -> None:
    counts = {
        "started": 10,
        "assigned": 12,
        "resolved": 8,
        "resolved_at_origin": 6,
        "failed": 1,
        "referred": 1,
        "accepted": 10,
        "accepted_on_time": 9,
        "resolved_on_time": 4,
        "escalated": 3,
        "reopened": 2,
        "visits": 4,
        "satisfied": 2,
        "basically": 1,
        "dissatisfied": 1,
    }
    result = figures(counts)
    assert result["resolution_rate"] == 0.8
    assert result["kept_at_origin_rate"] == 0.6
    assert result["timely_acceptance_rate"] == 0.9
    assert result["on_time_resolution_rate"] == 0.5
    assert result["escalation_rate"] == 0.25
    assert result["rebound_rate"] == 0.25
    assert result["satisfaction_rate"] == 0.75
    assert figures({})["resolution_rate"] is None


def test_summarise_by_tier_and_by_child_unit() -> None:
    visit = ReturnVisitRecorded(
        **envelope(hours=2),
        satisfaction=Satisfaction.DISSATISFIED,
    )
    batch = [(resolved(1), FACTS), (resolved(50, Tier.TOWN, "hanyin-shuangru"), FACTS)]
    docs = [
        {**item.keys, "c": dict(item.inc)}
        for item in batch_increments([*batch, (visit, FACTS)]).values()
    ]
    by_tier = summarise(docs, "hanyin", "tier")
    assert by_tier["total"]["counts"]["resolved"] == 2
    assert [g["key"] for g in by_tier["groups"]] == ["town", "village"]
    by_unit = summarise(docs, "hanyin-shuangru", "unit")
    assert [g["key"] for g in by_unit["groups"]] == [JIANGHE]
    assert by_unit["groups"][0]["satisfaction_rate"] == 0.0
    assert by_unit["total"]["median_hours_to_resolution"] == 1.0


def test_prometheus_text() -> None:
    text = prometheus_text({"hanyin": {"resolved": 3, "failed": 1, "ttr_00": 3}}, {"hanyin": 2})
    assert 'tiaojie_mediation_events_total{unit="hanyin",event="resolved"} 3' in text
    assert 'tiaojie_mediation_resolution_rate{unit="hanyin"} 0.75' in text
    assert 'tiaojie_mediation_time_to_resolution_hours_bucket{unit="hanyin",le="+Inf"} 3' in text
    assert 'tiaojie_mediation_backlog{unit="hanyin"} 2' in text
