"""Changes read from the config topic: every replica decides the same, in the same order."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from contracts.admin import POLICY_KEY, MediatorEntry, MediatorsChanged, PolicyChanged
from contracts.registry import hanyin
from contracts.vocabulary import Category
from router.changes import SharedConfig
from router.handlers import DecisionAudit, routing_record
from router.policy import DEFAULT_POLICY_PATH, Policy
from router.policy_api import etag_value
from router.watch import PolicyHolder
from services.jurisdiction import Jurisdiction
from tests.factories import JIANGHE, routed
from tests.fakes import InMemoryAuditTrail

NOW = datetime(2026, 11, 22, tzinfo=UTC)
LOG = structlog.get_logger()


def holder(tmp_path: Path) -> PolicyHolder:
    path = tmp_path / "policy.yaml"
    path.write_text(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    return PolicyHolder(path, LOG)


def policy_change(policy: Policy, expected: str | None, actor: str = "admin-1") -> PolicyChanged:
    return PolicyChanged(
        occurred_at=NOW,
        correlation_id=POLICY_KEY,
        actor=actor,
        role="admin",
        actor_unit_id="hanyin",
        policy=policy.model_dump(mode="json"),
        version=policy.version,
        expected_version=expected,
        source="api",
    )


def lowered(amount: float) -> Policy:
    return Policy.model_validate(
        {"town": {**Policy().town.model_dump(mode="json"), "amount_yuan_at_least": amount}}
    )


def test_two_changes_made_against_the_same_version_take_only_the_first(tmp_path: Path) -> None:
    seed = Policy().version
    first, second = policy_change(lowered(20_000), seed), policy_change(lowered(30_000), seed, "b")
    replicas = [holder(tmp_path), holder(tmp_path)]
    for replica in replicas:  # every replica reads the same log in the same order
        taken, refused = replica.apply(first), replica.apply(second)
        assert taken.taken
        assert (refused.taken, refused.refusal) == (False, "conflict")
        assert replica.current.version == first.version
        assert (replica.source, replica.changed_by) == ("api", "admin-1")


def test_an_unconditional_change_is_taken_whatever_is_in_force(tmp_path: Path) -> None:
    replica = holder(tmp_path)
    replica.apply(policy_change(lowered(20_000), None))
    assert replica.apply(policy_change(lowered(30_000), None)).taken
    assert replica.current.town.amount_yuan_at_least == 30_000


def test_an_invalid_document_on_the_topic_changes_nothing(tmp_path: Path) -> None:
    replica = holder(tmp_path)
    change = policy_change(Policy(), None).model_copy(update={"policy": {"town": {"x": 1}}})
    outcome = replica.apply(change)
    assert (outcome.taken, outcome.refusal) == (False, "invalid")
    assert "town.x" in outcome.reason
    assert replica.current.version == Policy().version


def mediators_change(unit_id: str, *ids: str) -> MediatorsChanged:
    return MediatorsChanged(
        occurred_at=NOW,
        correlation_id=f"mediators:{unit_id}",
        actor="admin-1",
        role="admin",
        actor_unit_id="hanyin",
        unit_id=unit_id,
        mediators=tuple(MediatorEntry(id=i, name="甲", categories=(Category.FAMILY,)) for i in ids),
    )


def test_a_mediator_listed_for_another_unit_moves_and_the_shipped_registry_stays() -> None:
    jurisdiction = Jurisdiction(LOG)
    mover = f"med-{JIANGHE}-1"
    assert jurisdiction.apply(mediators_change("hanyin-shuangru", mover)) is None
    current = jurisdiction.current
    assert [m.id for m in current.mediators_of("hanyin-shuangru")] == [mover]
    assert [m.id for m in current.mediators_of(JIANGHE)] == [f"med-{JIANGHE}-2"]
    assert current.mediators[mover].categories == {Category.FAMILY, Category.OTHER}
    assert len(hanyin().mediators_of("hanyin-shuangru")) > 1  # shared, so never changed


@pytest.mark.parametrize("unit_id", ["hanyin-nowhere", f"{JIANGHE}-g03"])
def test_mediators_of_an_unknown_unit_or_a_grid_are_refused(unit_id: str) -> None:
    jurisdiction = Jurisdiction(LOG)
    before = jurisdiction.current
    assert jurisdiction.apply(mediators_change(unit_id, "med-x-1")) is not None
    assert jurisdiction.current is before


async def test_a_proposal_learns_what_was_decided_and_unreadable_records_are_skipped(
    tmp_path: Path,
) -> None:
    shared = SharedConfig(
        policies=holder(tmp_path),
        jurisdiction=Jurisdiction(LOG),
        publish=None,
        audit=InMemoryAuditTrail(),
        service="router",
        logger=LOG,
    )
    shared.apply_record(b'{"event_type": "SomethingNew"}')
    shared.apply_record(b"not json")
    assert (await shared.propose(policy_change(lowered(20_000), None))).taken
    stale = policy_change(lowered(30_000), "sha256:0000000000000000")
    outcome = await shared.propose(stale)
    assert (outcome.taken, outcome.refusal) == (False, "conflict")
    assert (await shared.propose(mediators_change(JIANGHE, "med-new-1"))).taken
    assert [m.id for m in shared.jurisdiction.current.mediators_of(JIANGHE)] == ["med-new-1"]


async def test_a_policy_file_change_is_audited_as_the_routers_own(tmp_path: Path) -> None:
    audit = InMemoryAuditTrail()
    shared = SharedConfig(
        policies=holder(tmp_path),
        jurisdiction=Jurisdiction(LOG),
        publish=None,
        audit=audit,
        service="router",
        logger=LOG,
    )
    assert (await shared.share_file(lowered(20_000))).taken
    assert shared.policies.current.town.amount_yuan_at_least == 20_000
    [record] = audit.records
    assert (record.actor, record.role, record.action) == ("router", "service", "policy.change")
    assert record.details["source"] == "file"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (None, None),
        ('"sha256:abc"', "sha256:abc"),
        ('W/"sha256:abc"', "sha256:abc"),
        ("sha256:abc", "sha256:abc"),
        ("*", None),
    ],
)
def test_if_match_is_read_quoted_or_bare(header: str | None, value: str | None) -> None:
    assert etag_value(header) == value


def test_a_routing_decision_is_recorded_with_its_rule_and_policy_version() -> None:
    decision = routed(amount_yuan=80_000)
    record = routing_record("router", decision, "hanyin")
    assert (record.actor, record.role, record.action) == ("router", "service", "case.route")
    assert (record.case_id, record.unit_id) == (decision.case_id, "hanyin-shuangru")
    assert record.details["tier"] == "town"
    assert record.details["rule"] == "town_amount"
    assert record.details["policy_version"] == Policy().version
    assert record.event_id == routing_record("router", decision, "hanyin").event_id


async def test_each_decision_read_back_from_its_topic_is_recorded_for_the_county() -> None:
    trail = InMemoryAuditTrail()
    audit = DecisionAudit(trail, Jurisdiction(LOG), "router-2")
    decisions = [routed(amount_yuan=80_000), routed()]
    await audit.on_routed(decisions)
    assert [(r.case_id, r.actor, r.actor_unit_id) for r in trail.records] == [
        (decision.case_id, "router-2", "hanyin") for decision in decisions
    ]


async def test_a_change_the_broker_refused_is_reported_not_published(tmp_path: Path) -> None:
    async def broker_down(_: object) -> None:
        raise ConnectionError("broker down")

    shared = SharedConfig(
        policies=holder(tmp_path),
        jurisdiction=Jurisdiction(LOG),
        publish=broker_down,
        audit=InMemoryAuditTrail(),
        service="router",
        logger=LOG,
    )
    outcome = await shared.propose(policy_change(lowered(20_000), None))
    assert (outcome.taken, outcome.refusal) == (False, "unpublished")
    assert shared.policies.current.version == Policy().version


def test_replicas_started_from_different_files_decide_alike(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shipped, edited = holder(tmp_path / "a"), holder(tmp_path / "b")
    edited.path.write_text(
        edited.path.read_text(encoding="utf-8").replace("window_days: 90", "window_days: 60"),
        encoding="utf-8",
    )
    assert edited.check()  # its file says otherwise than the other's
    first = policy_change(lowered(20_000), Policy().version)
    second = policy_change(lowered(30_000), Policy().version, "b")
    outcomes = [[r.apply(first).taken, r.apply(second).taken] for r in (shipped, edited)]
    assert outcomes == [[True, False], [True, False]]
    assert shipped.current.version == edited.current.version == first.version
