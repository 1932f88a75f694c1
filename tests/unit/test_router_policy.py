"""The policy file: validated at load, versioned by content, watched while running."""

from pathlib import Path

import pytest
import structlog

from contracts.vocabulary import Category
from router.policy import DEFAULT_POLICY_PATH, Policy, PolicyError, load_policy, parse_policy
from router.watch import PolicyHolder

SHIPPED = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


def test_shipped_file_is_the_default_policy_of_the_domain() -> None:
    policy = load_policy(DEFAULT_POLICY_PATH)
    assert policy == Policy()
    assert policy.version == Policy().version
    assert policy.county.amount_yuan_at_least == 500_000
    assert policy.town.categories == (
        Category.LAND_BOUNDARY,
        Category.WAGE_ARREARS,
        Category.TRAFFIC_ACCIDENT,
        Category.MEDICAL,
    )
    assert policy.rebound.window_days == 90


def test_version_is_a_hash_of_the_content_not_of_the_layout() -> None:
    reformatted = "# a new comment\n" + SHIPPED.replace(
        "  cross_town: true", "  cross_town:   true"
    )
    assert parse_policy(reformatted).version == Policy().version
    changed = SHIPPED.replace("amount_yuan_at_least: 50000", "amount_yuan_at_least: 40000")
    assert parse_policy(changed).version != Policy().version


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            SHIPPED.replace("amount_yuan_at_least: 50000", "amount_yuan_at_least: -1"),
            "town.amount_yuan_at_least",
        ),
        (SHIPPED.replace("medical]", "medicine]"), "town.categories.3"),
        (SHIPPED.replace("  min_reports: 2", "  min_reportz: 2"), "rebound.min_reportz"),
        (SHIPPED.replace("urgent: 1", "urgent: soon"), "deadlines.acceptance_hours.urgent"),
        (SHIPPED.replace("people_at_least: 10", "people_at_least: 60"), "town.people_at_least"),
        ("[1, 2]", "mapping"),
        ("{}", "county: missing"),
        ("{}", "assignment: missing"),
        (SHIPPED.replace("  min_reports: 2\n", ""), "rebound.min_reports"),
        (SHIPPED.split("deadlines:")[0], "deadlines: missing"),
        ("town: [", "not valid YAML"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_field(text: str, named: str) -> None:
    with pytest.raises(PolicyError, match=named.replace(".", r"\.")):
        parse_policy(text, "candidate.yaml")


def test_running_holder_takes_a_good_change_and_keeps_the_last_good_version(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(SHIPPED, encoding="utf-8")
    holder = PolicyHolder(path, structlog.get_logger())
    first = holder.current.version
    assert not holder.check()  # unchanged file
    path.write_text(SHIPPED.replace("window_days: 90", "window_days: 60"), encoding="utf-8")
    assert holder.check()
    second = holder.current.version
    assert second != first
    assert holder.current.rebound.window_days == 60
    path.write_text(SHIPPED.replace("window_days: 90", "window_days: -5"), encoding="utf-8")
    assert not holder.check()
    assert holder.current.version == second
    assert holder.rejected is not None
    assert "rebound.window_days" in holder.rejected


def test_a_bad_file_at_start_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("county:\n  amount_yuan_at_least: lots\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"county\.amount_yuan_at_least"):
        PolicyHolder(path, structlog.get_logger())
