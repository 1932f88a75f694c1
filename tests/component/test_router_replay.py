"""Replaying history with each decision's recorded policy version reproduces it exactly, and
the what-if comparison counts what a candidate policy would change."""

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog

from contracts.events import CaseResolved, CaseRouted, DisputeReported, Event, Party
from contracts.registry import hanyin
from contracts.vocabulary import AgreementForm, Category, HouseholdColor, RiskFlag, Tier
from router.handlers import DisputeRouter
from router.policy import DEFAULT_POLICY_PATH, Policy, load_policy
from router.readmodel import ReadModels
from router.replay import replay, what_if
from router.watch import PolicyHolder
from services.jurisdiction import Jurisdiction
from services.publishing import EventPublisher
from tests.factories import reported

T0 = datetime(2026, 9, 1, tzinfo=UTC)
VILLAGES = ["hanyin-shuangru-jianghe", "hanyin-shuangru-chaba", "hanyin-puxi-dongyuan"]


class Recording(EventPublisher):
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish_all(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


def history(count: int, seed: int = 7) -> list[DisputeReported]:
    rng = random.Random(seed)
    reports = []
    for n in range(count):
        village = rng.choice(VILLAGES)
        parties = [
            Party(
                name=f"p{n}",
                village_id=rng.choice([village, *VILLAGES]),
                household_color=rng.choice(list(HouseholdColor)),
                phone_hash=f"h{rng.randrange(6)}",
            )
            for _ in range(rng.randint(1, 2))
        ]
        reports.append(
            reported(
                occurred_at=T0 + timedelta(hours=n),
                village_id=village,
                category=rng.choice(list(Category)),
                amount_yuan=rng.choice([0, 30_000, 60_000, 700_000]),
                people_involved=rng.choice([1, 3, 12, 60]),
                risk_flags=tuple(rng.sample(list(RiskFlag), rng.choice([0, 0, 1]))),
                parties=tuple(parties),
            )
        )
    return reports


def resolution(routed: CaseRouted, at: datetime) -> CaseResolved:
    return CaseResolved(
        occurred_at=at,
        correlation_id=routed.case_id,
        case_id=routed.case_id,
        tier=routed.tier,
        unit_id=routed.unit_id,
        mediator_id=routed.mediator_id,
        agreement=AgreementForm.ORAL,
        on_time=True,
        match_keys=routed.dispute.match_keys(),
    )


async def test_replaying_with_the_recorded_versions_reproduces_every_decision(
    tmp_path: Path,
) -> None:
    path = tmp_path / "policy.yaml"
    shipped = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    path.write_text(shipped, encoding="utf-8")
    holder = PolicyHolder(path, structlog.get_logger())
    models = ReadModels()
    routed_out = Recording()
    router = DisputeRouter(
        routed=routed_out,
        alerts=Recording(),
        policies=holder,
        jurisdiction=Jurisdiction(structlog.get_logger()),
        models=models,
        clock=lambda: datetime.now(UTC),
    )
    reports = history(240)
    known: dict[str, Policy] = {holder.current.version: holder.current}
    for start in range(0, len(reports), 40):
        batch = reports[start : start + 40]
        await router.on_reported(batch)
        # Mediation resolves some village cases, which later reports may re-open.
        for event in routed_out.events[-len(batch) :: 3]:
            assert isinstance(event, CaseRouted)
            models.apply_lifecycle(resolution(event, batch[-1].occurred_at))
        if start == 120:  # supervisors change the policy halfway
            path.write_text(
                shipped.replace("amount_yuan_at_least: 50000", "amount_yuan_at_least: 20000")
                .replace("people_at_least: 10", "people_at_least: 3")
                .replace("max_open_cases_per_mediator: 30", "max_open_cases_per_mediator: 2"),
                encoding="utf-8",
            )
            assert holder.check()
            known[holder.current.version] = holder.current
    recorded = [event for event in routed_out.events if isinstance(event, CaseRouted)]
    assert len(recorded) == len(reports)
    assert len({r.trace[0].policy_version for r in recorded}) == 2
    assert any(r.rebound_of for r in recorded), "the history should hold rebounds"
    assert any(r.trace[0].rule == "rebound" for r in recorded)
    assert len({r.mediator_id for r in recorded}) > len(VILLAGES)  # loads spread the cases
    by_id = {r.dispute.dispute_id: r for r in reports}
    for decision in recorded:
        assert replay(by_id[decision.case_id], decision, known, hanyin()) == decision


def test_what_if_counts_changes_by_town_and_category() -> None:
    current = load_policy(DEFAULT_POLICY_PATH)
    candidate = Policy.model_validate(
        current.model_dump()
        | {"town": current.town.model_dump() | {"amount_yuan_at_least": 20_000}}
    )
    reports = [
        reported(occurred_at=T0, amount_yuan=30_000),  # village → town
        reported(occurred_at=T0, amount_yuan=30_000, category=Category.FAMILY),  # village → town
        reported(occurred_at=T0, amount_yuan=10_000),  # stays
        reported(occurred_at=T0, amount_yuan=60_000),  # town either way
    ]
    result = what_if([*reports, reports[0]], [], current, candidate, hanyin())
    assert result.disputes == 4  # the repeated report counts once
    assert len(result.changes) == result.tier_changes == 2
    assert {(c.town, c.category) for c in result.changes} == {
        ("hanyin-shuangru", "neighbour"),
        ("hanyin-shuangru", "family"),
    }
    assert all(c.before[0] is Tier.VILLAGE and c.after[0] is Tier.TOWN for c in result.changes)
    assert result.per_cell[("hanyin-shuangru", "neighbour")] == 3
