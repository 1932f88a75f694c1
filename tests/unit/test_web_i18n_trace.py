"""The case page's routing trace in words: every rule a step can name and every fact the
router records, in both languages, with vocabulary values worded too."""

from datetime import UTC, datetime

from contracts.registry import hanyin
from contracts.vocabulary import EscalationReason, Tier
from router.bench_rules import synthetic
from router.policy import Policy
from router.rules import COUNTY_RULES, TOWN_RULES, escalate, route
from services.web.i18n import EN, INPUT_KINDS, TEXT, ZH, Translator
from tests.factories import escalation_of

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
STEP_RULES = {
    "unknown_location",
    "village_default",
    *(f"escalated_from_{tier.value}" for tier in (Tier.VILLAGE, Tier.TOWN)),
}


def test_every_rule_has_its_name_in_both_languages() -> None:
    rules = {rule for rule, _ in (*COUNTY_RULES, *TOWN_RULES)} | STEP_RULES
    missing = [rule for rule in rules if f"rule.{rule}" not in TEXT]
    assert not missing


def test_every_recorded_fact_is_named_and_worded() -> None:
    registry, policy = hanyin(), Policy()
    steps = []
    for reported in synthetic(300):
        routed = route(reported, policy, registry, NOW)
        steps.append(routed.trace[-1])
        if routed.tier is not Tier.COUNTY:
            request = escalation_of(routed, EscalationReason.FAILED, NOW)
            escalated = escalate(request, policy, registry, NOW).routed
            assert escalated is not None
            steps.append(escalated.trace[-1])
    names = {name for step in steps for name in step.inputs}
    assert not [name for name in names if f"input.{name}" not in TEXT]
    coded = {
        f"{INPUT_KINDS[name]}.{item}"
        for step in steps
        for name, value in step.inputs.items()
        if name in INPUT_KINDS and value
        for item in (value if isinstance(value, list) else [value])
    }
    assert len(coded) > 10
    assert not [key for key in coded if key not in TEXT]
    zh, en = Translator(ZH), Translator(EN)
    assert zh.fact("category", "neighbour") == "类别: 邻里纠纷"
    assert en.fact("needs_triage", False) == "needs triage: no"
