"""Times to resolution are reported as measured: medians and p90 of the actual durations."""

from datetime import UTC, datetime, timedelta

from contracts.events import CaseResolved
from contracts.vocabulary import AgreementForm, Tier
from mediation.metrics import (
    DURATIONS,
    Facts,
    batch_increments,
    figures,
    measured_median,
    measured_p90,
    summarise,
)
from tests.factories import JIANGHE

START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
FACTS = Facts(origin_tier="village", started_at=START, channel="hotline", category="neighbour")


def resolved(hours: float) -> CaseResolved:
    return CaseResolved(
        occurred_at=START + timedelta(hours=hours),
        correlation_id="c",
        case_id=f"case-{hours}",
        tier=Tier.VILLAGE,
        unit_id=JIANGHE,
        agreement=AgreementForm.ORAL,
        on_time=True,
    )


def documents(*hours: float) -> list[dict[str, object]]:
    increments = batch_increments([(resolved(h), FACTS) for h in hours])
    return [
        {**item.keys, "c": dict(item.inc), DURATIONS: item.durations}
        for item in increments.values()
    ]


def test_the_median_is_the_middle_duration_not_a_bucket_edge() -> None:
    total = summarise(documents(0.25, 3.5, 30.0), "hanyin", None)["total"]
    assert total["median_hours_to_resolution"] == 3.5  # its bucket's edge would say 4
    assert total["p90_hours_to_resolution"] == 30.0  # the bucket's edge would say 48


def test_an_even_count_takes_the_mean_of_the_middle_two() -> None:
    assert measured_median([1.0, 2.0, 4.0, 10.0]) == 3.0
    assert measured_p90([float(n) for n in range(1, 11)]) == 9.0
    assert measured_median([]) is None
    assert measured_p90([]) is None


def test_each_resolution_counts_its_duration_in_every_document_it_counts_in() -> None:
    increments = batch_increments([(resolved(1.5), FACTS)]).values()
    counted = [item for item in increments if item.keys["dim"] != "backlog"]
    assert {tuple(item.durations) for item in counted} == {(1.5,)}
    assert len(counted) == 3 * 4  # village, town, county; all + tier, channel, category


def test_counters_without_durations_fall_back_to_the_bucket_edge() -> None:
    old = {"resolved": 3, "ttr_01": 3}  # counted before durations were kept
    assert figures(old)["median_hours_to_resolution"] == 2.0
    assert figures(old, [1.5])["median_hours_to_resolution"] == 2.0  # not all measured
    assert figures(old, [1.5, 1.6, 1.9])["median_hours_to_resolution"] == 1.6
