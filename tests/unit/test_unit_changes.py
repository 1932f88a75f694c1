"""Units added, renamed, moved and retired: the registry's pure functions, the checks every
replica makes as it reads a change, the revision every jurisdiction change counts, and the
open cases the router knows each unit holds."""

from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog

from contracts.admin import MediatorEntry, MediatorsChanged, UnitChanged, UnitEntry
from contracts.registry import (
    Registry,
    Unit,
    UnitChangeError,
    hanyin,
    unit_change_problems,
    with_unit,
)
from contracts.vocabulary import Category, Tier
from router.changes import apply_change
from router.policy import DEFAULT_POLICY_PATH
from router.readmodel import ReadModels
from router.watch import PolicyHolder
from services.auth import AuthSettings, Role, authenticate, issue_token
from services.errors import Refused
from services.jurisdiction import Jurisdiction, StaleRevisionError, registry_after

NOW = datetime(2026, 11, 22, tzinfo=UTC)
SHUANGRU, PUXI = "hanyin-shuangru", "hanyin-puxi"
JIANGHE = "hanyin-shuangru-jianghe"
HUAYUAN = "hanyin-chengguan-huayuan"
NEW = "hanyin-shuangru-xinzhuang"
KEYS = "k1:a-signing-key-of-sufficient-length-0123456789"


def village(unit_id: str = NEW, parent_id: str | None = SHUANGRU, **fields: Any) -> Unit:
    unit = Unit(id=unit_id, kind="village", name="新庄村", name_en="Xinzhuang", parent_id=parent_id)
    return replace(unit, **fields)


def fields_of(
    registry: Registry, unit_id: str, unit: Unit | None, *, adding: bool = False
) -> dict[str, str]:
    problems = unit_change_problems(registry, unit_id, unit, adding=adding)
    return {problem.field: problem.message for problem in problems}


def change(
    action: str, unit_id: str, unit: Unit | None, expected: int | None = None
) -> UnitChanged:
    return UnitChanged(
        occurred_at=NOW,
        correlation_id=f"unit:{unit_id}",
        actor="admin-1",
        role="admin",
        actor_unit_id="hanyin",
        action=action,
        unit_id=unit_id,
        unit=UnitEntry(**asdict(unit)) if unit is not None else None,
        expected_revision=expected,
    )


def test_a_new_village_joins_its_town_and_the_shared_registry_stays_as_it_was() -> None:
    before = hanyin()
    after = with_unit(before, NEW, village(), adding=True)
    assert after.unit(NEW) == village()
    assert NEW in after.children[SHUANGRU]
    assert after.ancestors(NEW) == [NEW, SHUANGRU, "hanyin"]
    assert after.mediation_unit(NEW, Tier.TOWN).id == SHUANGRU
    assert before.unit(NEW) is None
    assert NEW not in before.children[SHUANGRU]
    assert after.top.id == "hanyin"


def test_a_new_unit_is_checked_as_a_row_of_a_jurisdiction_file() -> None:
    registry = hanyin()
    assert fields_of(registry, NEW, village(parent_id="hanyin-nowhere"), adding=True) == {
        "parent_id": "'hanyin-nowhere' is not a unit of the file"
    }
    wrong = fields_of(registry, NEW, village(parent_id="hanyin"), adding=True)
    assert wrong == {"parent_id": "a village belongs to a town, not a county"}
    assert "parent_id" in fields_of(registry, NEW, village(parent_id=None), adding=True)
    taken = fields_of(registry, JIANGHE, village(unit_id=JIANGHE), adding=True)
    assert taken == {"id": f"'{JIANGHE}' is already a village of the registry"}
    assert set(
        fields_of(registry, NEW, village(name="村" * 101, name_en="a\x07b"), adding=True)
    ) == {
        "name",
        "name_en",
    }
    assert "name" in fields_of(registry, NEW, village(name=" "), adding=True)
    assert set(fields_of(registry, NEW, village(lat=32.9), adding=True)) == {"lon"}
    assert set(fields_of(registry, "Bad_Id", village(unit_id="Bad_Id"), adding=True)) == {"id"}
    grid = Unit(
        id=f"{JIANGHE}-g99",
        kind="grid",
        name="九十九网格",
        name_en="",
        parent_id=JIANGHE,
        mediation_body="x",
    )
    assert set(fields_of(registry, grid.id, grid, adding=True)) == {"mediation_body"}
    county = Unit(id="ziyang", kind="county", name="紫阳县", name_en="Ziyang", parent_id=None)
    assert fields_of(registry, county.id, county, adding=True) == {}, "a county beside the others"


def test_a_rename_keeps_the_unit_where_it_is() -> None:
    registry = hanyin()
    renamed = with_unit(registry, JIANGHE, replace(registry.units[JIANGHE], name="江河社区"))
    assert renamed.units[JIANGHE].name == "江河社区"
    assert list(renamed.units) == list(registry.units), "the first top unit stays first"
    assert renamed.children == registry.children
    assert renamed.mediators_of(JIANGHE) == registry.mediators_of(JIANGHE)


def test_a_moved_village_escalates_along_its_new_town() -> None:
    registry = hanyin()
    moved = with_unit(registry, JIANGHE, replace(registry.units[JIANGHE], parent_id=PUXI))
    assert moved.above(JIANGHE) == moved.units[PUXI]
    assert moved.mediation_unit(f"{JIANGHE}-g03", Tier.TOWN).id == PUXI
    assert JIANGHE in moved.children[PUXI]
    assert JIANGHE not in moved.children[SHUANGRU]
    assert moved.is_within(f"{JIANGHE}-g03", PUXI), "its grids go with it"
    assert moved.mediators_of(JIANGHE) == registry.mediators_of(JIANGHE)


def test_what_a_change_may_not_do_to_a_unit() -> None:
    registry = hanyin()
    top = registry.units["hanyin"]
    prefecture = Unit(id="ankang", kind="prefecture", name="安康市", name_en="", parent_id=None)
    with_prefecture = with_unit(registry, "ankang", prefecture, adding=True)
    assert fields_of(with_prefecture, "hanyin", replace(top, parent_id="ankang")) == {
        "parent_id": "the deployment's top unit stays the top"
    }
    as_town = replace(registry.units[JIANGHE], kind="town", parent_id="hanyin")
    assert "kind" in fields_of(registry, JIANGHE, as_town)
    assert fields_of(registry, NEW, village()) == {"unit_id": f"no unit {NEW}"}
    other_id = replace(registry.units[JIANGHE], id=NEW)
    assert "id" in fields_of(registry, JIANGHE, other_id)


def test_retiring_leaves_no_unit_without_its_parent() -> None:
    registry = hanyin()
    assert fields_of(registry, "hanyin", None) == {
        "unit_id": "the deployment's top unit cannot be retired"
    }
    assert set(fields_of(registry, JIANGHE, None)) == {"children"}
    with pytest.raises(UnitChangeError) as refused:
        with_unit(registry, SHUANGRU, None)
    assert refused.value.problems[0].field == "children"
    assert JIANGHE in str(refused.value)


def test_a_retired_village_takes_its_mediators_and_wechat_groups_with_it() -> None:
    registry = hanyin()
    for grid in registry.children_of(HUAYUAN):
        registry = with_unit(registry, grid.id, None)
    gone = with_unit(registry, HUAYUAN, None)
    assert gone.unit(HUAYUAN) is None
    assert gone.mediators_of(HUAYUAN) == []
    assert HUAYUAN not in gone.wechat_groups.values()
    assert HUAYUAN not in gone.children.get("hanyin-chengguan", ())
    assert registry.mediators_of(HUAYUAN), "the registry it came from is unchanged"


def test_a_retired_units_mediators_tokens_count_no_more() -> None:
    registry = hanyin()
    for grid in registry.children_of(HUAYUAN):
        registry = with_unit(registry, grid.id, None)
    held = [registry]
    auth = AuthSettings(auth_keys=KEYS)
    auth.recognise(lambda: held[-1], mediators=True)
    mediator = registry.mediators_of(HUAYUAN)[0].id
    token = issue_token(
        AuthSettings(auth_keys=KEYS), subject=mediator, role=Role.MEDIATOR, unit_id=HUAYUAN
    )
    assert authenticate(auth, token).subject == mediator
    held.append(with_unit(registry, HUAYUAN, None))
    with pytest.raises(Refused) as refused:
        authenticate(auth, token)
    assert (refused.value.status_code, refused.value.code.value) == (403, "unknown_unit")


def test_every_jurisdiction_change_taken_counts_one_revision() -> None:
    registry = hanyin()
    assert registry.revision == 0
    added = registry_after(registry, change("add", NEW, village()))
    assert added.revision == 1
    mediators = MediatorsChanged(
        occurred_at=NOW,
        correlation_id=f"mediators:{NEW}",
        actor="admin-1",
        role="admin",
        actor_unit_id="hanyin",
        unit_id=NEW,
        mediators=(
            MediatorEntry(id=f"med-{NEW}-1", name="王五", categories=(Category.NEIGHBOUR,)),
        ),
    )
    staffed = registry_after(added, mediators)
    assert staffed.revision == 2
    assert [m.id for m in staffed.mediators_of(NEW)] == [f"med-{NEW}-1"]
    retired = registry_after(staffed, change("retire", NEW, None, expected=2))
    assert (retired.revision, retired.unit(NEW)) == (3, None)


def test_a_change_made_against_a_replaced_revision_is_refused_and_changes_nothing() -> None:
    registry = registry_after(hanyin(), change("add", NEW, village()))
    with pytest.raises(StaleRevisionError, match="revision 0 is no longer in force"):
        registry_after(registry, change("change", NEW, village(name="旧庄村"), expected=0))
    with pytest.raises(ValueError, match="already a village"):
        registry_after(registry, change("add", NEW, village()))
    with pytest.raises(ValueError, match="every change but its retirement"):
        registry_after(registry, change("retire", NEW, village()))


def test_the_router_answers_a_stale_change_as_a_conflict_and_an_invalid_one_as_such() -> None:
    jurisdiction = Jurisdiction(structlog.get_logger())
    policies = PolicyHolder(DEFAULT_POLICY_PATH, structlog.get_logger())
    taken = apply_change(change("add", NEW, village(), expected=0), policies, jurisdiction)
    assert taken.taken
    assert jurisdiction.current.revision == 1
    stale = apply_change(change("retire", NEW, None, expected=0), policies, jurisdiction)
    assert (stale.taken, stale.refusal) == (False, "conflict")
    orphan = apply_change(change("retire", SHUANGRU, None), policies, jurisdiction)
    assert (orphan.taken, orphan.refusal) == (False, "invalid")
    assert jurisdiction.current.unit(NEW) is not None
    assert jurisdiction.current.revision == 1


def test_the_router_knows_which_unit_holds_each_open_case() -> None:
    models = ReadModels()
    models.load.assigned("c1", 1, f"med-{JIANGHE}-1", JIANGHE)
    models.load.assigned("c2", 1, None, JIANGHE)  # in the unit's queue, nobody chosen yet
    models.load.assigned("c3", 1, f"med-{JIANGHE}-1", JIANGHE)
    models.load.closed("c3")
    assert models.load.open_cases_at(JIANGHE) == ["c1", "c2"]
    models.load.reassigned("c1", 1, f"med-{JIANGHE}-2")
    assert models.load.open_cases_at(JIANGHE) == ["c1", "c2"]
    models.load.closed("c1", 1)  # escalation requested: the town routes it next
    models.load.assigned("c1", 2, f"med-{SHUANGRU}-1", SHUANGRU)
    assert models.load.open_cases_at(JIANGHE) == ["c2"]
    assert models.load.open_cases_at(SHUANGRU) == ["c1"]
    models.load.closed("c2")
    models.load.reopened("c2", f"med-{JIANGHE}-1", JIANGHE)
    assert models.load.open_cases_at(JIANGHE) == ["c2"]
