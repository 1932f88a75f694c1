"""Resolution metrics: what each lifecycle event adds to which counter, and the figures read
from summed counters. Pure arithmetic: no I/O here (the store only $inc-s what this says).

Counters live per (unit, day, dimension, value). Each event counts for the unit that held the
case and every unit above it (`Registry.ancestors`), so a town's counters are the sum of
its subtree and the county's the sum of everything. Days are China Standard Time calendar days.
"""

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

from contracts.events import (
    AgreementFollowedUp,
    CaseAccepted,
    CaseAssigned,
    CaseEscalationRequested,
    CaseFailed,
    CaseReferred,
    CaseReopened,
    CaseResolved,
    CaseWithdrawn,
    Event,
    MediationSessionHeld,
    ReturnVisitRecorded,
)
from contracts.registry import in_force
from contracts.vocabulary import EscalationReason, Satisfaction

CHINA = timezone(timedelta(hours=8), "CST")
TTR_EDGES_HOURS = (1, 2, 4, 8, 12, 24, 48, 72, 120, 168, 240, 360, 720, 1440, 2160)
"""Upper edges of the time-to-resolution buckets; one more bucket holds everything above."""
DIMENSIONS = ("tier", "channel", "category")
BY_CHOICES = ("tier", "channel", "category", "day", "unit")
ALL = "all"
BACKLOG = "backlog"
DURATIONS = "ttr_h"
"""Field of a counter document listing the hours to resolution of the resolutions it counts."""
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Facts:
    """What never changes about a case, read from its document."""

    origin_tier: str
    started_at: datetime | None
    channel: str = UNKNOWN
    category: str = UNKNOWN


def day_of(at: datetime) -> str:
    return at.astimezone(CHINA).date().isoformat()


def ttr_bucket(hours: float) -> int:
    for index, edge in enumerate(TTR_EDGES_HOURS):
        if hours <= edge:
            return index
    return len(TTR_EDGES_HOURS)


def ttr_field(index: int) -> str:
    return f"ttr_{index:02d}"


def counts_of(event: Event, facts: Facts) -> dict[str, int]:  # noqa: PLR0911 (one per type)
    """The counters one event adds to, each by one."""
    if isinstance(event, CaseAssigned):
        return _flags(assigned=True, started=event.routing_seq == 1)
    if isinstance(event, CaseAccepted):
        return _flags(accepted=True, accepted_on_time=event.on_time)
    if isinstance(event, MediationSessionHeld):
        return {"sessions": 1}
    if isinstance(event, CaseResolved):
        counts = _flags(
            resolved=True,
            resolved_on_time=event.on_time,
            resolved_at_origin=event.tier.value == facts.origin_tier,
        )
        if facts.started_at is not None:
            hours = (event.occurred_at - facts.started_at).total_seconds() / 3600
            counts[ttr_field(ttr_bucket(hours))] = 1
        return counts
    if isinstance(event, CaseFailed | CaseReferred | CaseWithdrawn):
        return {event.event_type.removeprefix("Case").lower(): 1}
    if isinstance(event, CaseEscalationRequested):
        return {"escalated": 1, f"escalated_{event.reason.value}": 1}
    if isinstance(event, AgreementFollowedUp):
        return _flags(followed_up=True, fulfilled=event.fulfilled)
    if isinstance(event, ReturnVisitRecorded):
        return {"visits": 1, event.satisfaction.value: 1}
    if isinstance(event, CaseReopened):
        return {"reopened": 1}
    return {}


def _flags(**flags: bool) -> dict[str, int]:
    return {name: 1 for name, on in flags.items() if on}


def backlog_change(event: Event) -> int:
    """+1 when a case enters a unit's queue, -1 when it leaves it (closed or handed up)."""
    if isinstance(event, CaseAssigned | CaseReopened):
        return 1
    if isinstance(event, CaseResolved | CaseFailed | CaseReferred | CaseWithdrawn):
        return -1
    if isinstance(event, CaseEscalationRequested):
        handed_up = event.reason is not EscalationReason.FAILED and not event.at_top
        return -1 if handed_up else 0  # a failure already left the queue with CaseFailed
    return 0


@dataclass
class Increment:
    keys: dict[str, Any]
    inc: Counter[str]
    durations: list[float] = field(default_factory=list)
    """Hours to resolution of the resolutions counted here, kept for exact medians."""


@dataclass(frozen=True)
class Contribution:
    """What one event adds to the counters, in the few facts its counter documents follow
    from."""

    unit_id: str
    day: str
    values: dict[str, str]
    """The event's value of each dimension (tier, channel, category)."""
    counts: dict[str, int]
    backlog: int
    durations: tuple[float, ...] = ()
    """Hours from routing to resolution, for a resolution: measured, not bucketed."""


def contribution_of(event: Event, facts: Facts) -> Contribution | None:
    unit_id = getattr(event, "unit_id", None)
    if unit_id is None:
        return None
    counts = counts_of(event, facts)
    change = backlog_change(event)
    if change:  # per period too: how much a period added to (or took from) the backlog
        counts = {**counts, "backlog_change": change}
    values = {"tier": str(getattr(event, "tier", UNKNOWN)), "channel": facts.channel}
    values["category"] = facts.category
    durations = (hours,) if (hours := hours_to_resolution(event, facts)) is not None else ()
    return Contribution(unit_id, day_of(event.occurred_at), values, counts, change, durations)


def hours_to_resolution(event: Event, facts: Facts) -> float | None:
    """Hours from the case's first routing to this resolution, to the second."""
    if not isinstance(event, CaseResolved) or facts.started_at is None:
        return None
    return round((event.occurred_at - facts.started_at).total_seconds()) / 3600


def increments_of(contributions: Iterable[Contribution]) -> dict[str, Increment]:
    """Every counter document the contributions touch, with their summed increments."""
    result: dict[str, Increment] = {}
    registry = in_force()

    def add(
        doc_id: str, keys: dict[str, Any], counts: Mapping[str, int], hours: Iterable[float] = ()
    ) -> None:
        target = result.setdefault(doc_id, Increment(keys, Counter()))
        target.inc.update(counts)
        target.durations.extend(hours)

    for item in contributions:
        day, counts = item.day, item.counts
        for unit in registry.ancestors(item.unit_id):
            base = {"unit": unit, "parent": registry.parent_of(unit)}
            if counts:
                keys = {**base, "day": day, "dim": ALL, "value": ""}
                add(f"{unit}|{day}|{ALL}|", keys, counts, item.durations)
                for dim in DIMENSIONS:
                    value = item.values[dim]
                    keys = {**base, "day": day, "dim": dim, "value": value}
                    add(f"{unit}|{day}|{dim}|{value}", keys, counts, item.durations)
            if item.backlog:
                keys = {**base, "day": "", "dim": BACKLOG}
                add(f"{unit}|{BACKLOG}", keys, {"open": item.backlog})
    return result


def batch_increments(events: Iterable[tuple[Event, Facts]]) -> dict[str, Increment]:
    """Every counter document the batch touches, with its summed increments: one $inc each."""
    return increments_of(c for event, facts in events if (c := contribution_of(event, facts)))


# ---- figures ----------------------------------------------------------------------------------


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def histogram(counts: Mapping[str, int]) -> list[int]:
    return [counts.get(ttr_field(i), 0) for i in range(len(TTR_EDGES_HOURS) + 1)]


def quantile_hours(buckets: list[int], q: Fraction) -> float | None:
    """Upper edge of the bucket holding the nearest-rank q-quantile: "at most this many hours".
    None when empty, or when the quantile lies beyond the last edge."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = -(-q.numerator * total // q.denominator)  # ceil(q * total), exactly
    seen = 0
    for index, count in enumerate(buckets):
        seen += count
        if seen >= rank:
            return float(TTR_EDGES_HOURS[index]) if index < len(TTR_EDGES_HOURS) else None
    return None


def measured_median(hours: list[float]) -> float | None:
    """The median of the measured durations (the mean of the middle two for an even count)."""
    return round(statistics.median(hours), 2) if hours else None


def measured_p90(hours: list[float]) -> float | None:
    """The nearest-rank 90th percentile of the measured durations."""
    if not hours:
        return None
    rank = -(-9 * len(hours) // 10)  # ceil(0.9 n), exactly
    return round(sorted(hours)[rank - 1], 2)


def _quantiles(buckets: list[int], durations: list[float] | None) -> tuple[Any, Any]:
    """Median and p90 from the measured durations when every bucketed resolution has one;
    else (counters written before durations were kept) the upper edge of their bucket."""
    if durations is not None and len(durations) == sum(buckets):
        return measured_median(durations), measured_p90(durations)
    return quantile_hours(buckets, Fraction(1, 2)), quantile_hours(buckets, Fraction(9, 10))


def figures(counts: Mapping[str, int], durations: list[float] | None = None) -> dict[str, Any]:
    c = Counter(counts)
    closed = c["resolved"] + c["failed"] + c["referred"]
    buckets = histogram(c)
    median, p90 = _quantiles(buckets, durations)
    return {
        "resolution_rate": ratio(c["resolved"], closed),
        "kept_at_origin_rate": ratio(c["resolved_at_origin"], c["started"]),
        "timely_acceptance_rate": ratio(c["accepted_on_time"], c["accepted"]),
        "on_time_resolution_rate": ratio(c["resolved_on_time"], c["resolved"]),
        "median_hours_to_resolution": median,
        "p90_hours_to_resolution": p90,
        "escalation_rate": ratio(c["escalated"], c["assigned"]),
        "rebound_rate": ratio(c["reopened"], c["resolved"]),
        "satisfaction_rate": ratio(
            c[Satisfaction.SATISFIED.value] + c[Satisfaction.BASICALLY.value], c["visits"]
        ),
        "fulfilment_rate": ratio(c["fulfilled"], c["followed_up"]),
        "counts": {name: value for name, value in sorted(c.items()) if value and "ttr_" not in name}
        | {"closed": closed},
        "time_to_resolution_hours": {
            "edges": list(TTR_EDGES_HOURS),
            "buckets": buckets,
        },
    }


def in_period(day: str, start: date | None, end: date | None) -> bool:
    return (start is None or day >= start.isoformat()) and (end is None or day <= end.isoformat())


def summarise(documents: Iterable[Mapping[str, Any]], unit: str, by: str | None) -> dict[str, Any]:
    """Sum counter documents of `unit` (and, for by=unit, of its children) into figures;
    their measured durations (`ttr_h`) give the median and p90."""
    total: Counter[str] = Counter()
    total_hours: list[float] = []
    groups: dict[str, Counter[str]] = {}
    group_hours: dict[str, list[float]] = {}
    for document in documents:
        counts = document.get("c", {})
        hours = [float(h) for h in document.get(DURATIONS, ())]
        own = document["unit"] == unit
        if own and document["dim"] == ALL:
            total.update(counts)
            total_hours += hours
        key = _group_key(document, unit, by)
        if key is not None:
            groups.setdefault(key, Counter()).update(counts)
            group_hours.setdefault(key, []).extend(hours)
    return {
        "total": figures(total, total_hours),
        "groups": [
            {"key": key, **figures(groups[key], group_hours[key])} for key in sorted(groups)
        ],
    }


def _group_key(document: Mapping[str, Any], unit: str, by: str | None) -> str | None:
    if by is None:
        return None
    if by == "unit":
        child = document["dim"] == ALL and document.get("parent") == unit
        return str(document["unit"]) if child else None
    if document["unit"] != unit:
        return None
    if by == "day":
        return str(document["day"]) if document["dim"] == ALL else None
    return str(document["value"]) if document["dim"] == by else None


# ---- Prometheus text --------------------------------------------------------------------------

_RATES = (
    "resolution_rate",
    "kept_at_origin_rate",
    "timely_acceptance_rate",
    "on_time_resolution_rate",
    "escalation_rate",
    "rebound_rate",
    "satisfaction_rate",
)


def prometheus_text(totals: Mapping[str, Mapping[str, int]], backlog: Mapping[str, int]) -> str:
    """Exposition format 0.0.4: counters, rates and backlog per unit (its whole subtree)."""
    lines = [
        "# HELP tiaojie_mediation_events_total Lifecycle events counted for the unit's subtree.",
        "# TYPE tiaojie_mediation_events_total counter",
    ]
    for unit in sorted(totals):
        for name, value in sorted(totals[unit].items()):
            if value and not name.startswith("ttr_"):
                lines.append(
                    f'tiaojie_mediation_events_total{{unit="{unit}",event="{name}"}} {value}'
                )
    for rate in _RATES:
        lines += [f"# TYPE tiaojie_mediation_{rate} gauge"]
        for unit in sorted(totals):
            value = figures(totals[unit])[rate]
            if value is not None:
                lines.append(f'tiaojie_mediation_{rate}{{unit="{unit}"}} {value}')
    lines += [
        "# HELP tiaojie_mediation_time_to_resolution_hours Hours from routing to resolution.",
        "# TYPE tiaojie_mediation_time_to_resolution_hours histogram",
    ]
    for unit in sorted(totals):
        lines += _histogram_lines(unit, histogram(totals[unit]))
    lines += [
        "# HELP tiaojie_mediation_backlog Open cases held in the unit's subtree.",
        "# TYPE tiaojie_mediation_backlog gauge",
    ]
    lines += [f'tiaojie_mediation_backlog{{unit="{u}"}} {backlog[u]}' for u in sorted(backlog)]
    return "\n".join(lines) + "\n"


def _histogram_lines(unit: str, buckets: list[int]) -> list[str]:
    name = "tiaojie_mediation_time_to_resolution_hours"
    lines, seen = [], 0
    for edge, count in zip((*TTR_EDGES_HOURS, "+Inf"), buckets, strict=True):
        seen += count
        lines.append(f'{name}_bucket{{unit="{unit}",le="{edge}"}} {seen}')
    lines.append(f'{name}_count{{unit="{unit}"}} {seen}')
    return lines
