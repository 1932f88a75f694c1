"""Every code a console can be handed has its words in both languages: refusals, refused
fields (our own codes and every pydantic error type the console bodies give), routing reasons,
alert titles, timeline events and every vocabulary value."""

import inspect
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any, get_args

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from contracts import vocabulary
from intake.models import HotlineReport
from mediation.lifecycle import MEDIATOR_ACTIONS, WHY_REFUSED, TimelineEvent
from mediation.models import OUTCOME_BODY, AcceptBody, FollowUpBody, SessionBody, VisitBody
from notifier.models import SubscriptionIn
from services.auth import Role
from services.errors import FieldProblem, Refusal
from services.web.i18n import PLACEHOLDER, TEXT
from tests.factories import hotline_body

VOCABULARY_KINDS = {
    vocabulary.Channel: "channel",
    vocabulary.Category: "category",
    vocabulary.RiskFlag: "risk",
    vocabulary.PartyKind: "party",
    vocabulary.HouseholdColor: "color",
    vocabulary.Tier: "tier",
    vocabulary.CaseState: "state",
    vocabulary.AlertKind: "alert",
    vocabulary.Priority: "priority",
    vocabulary.EscalationReason: "escalation",
    vocabulary.ReferralTarget: "referral",
    vocabulary.AgreementForm: "agreement",
    vocabulary.Satisfaction: "satisfaction",
    vocabulary.RoutingReason: "route",
    vocabulary.AlertTitle: "alert_title",
}


def assert_worded(keys: list[str]) -> None:
    missing = [key for key in keys if key not in TEXT]
    assert missing == []
    blank = [key for key in keys if not all(text.strip() for text in TEXT[key])]
    assert blank == []


def test_every_vocabulary_enum_is_worded_value_by_value() -> None:
    enums = {
        item
        for _, item in inspect.getmembers(vocabulary, inspect.isclass)
        if issubclass(item, StrEnum) and item.__module__ == vocabulary.__name__
    }
    assert enums == set(VOCABULARY_KINDS), "a new enum needs its kind here and its words"
    assert_worded(
        [f"{kind}.{code.value}" for enum, kind in VOCABULARY_KINDS.items() for code in enum]
    )


def test_every_refusal_and_its_facts_are_worded() -> None:
    assert_worded([f"error.{code.value}" for code in Refusal] + ["error.http_404"])
    assert_worded([f"why.{why}" for why in WHY_REFUSED])
    assert_worded([f"action.{action}" for action in (*MEDIATOR_ACTIONS, "change")])
    assert_worded([f"role.{role.value}" for role in Role])
    assert_worded([f"timeline.{event}" for event in get_args(TimelineEvent)])


def test_every_field_problem_of_our_own_is_worded() -> None:
    assert_worded([f"invalid.{code.value}" for code in FieldProblem])


# ---- every pydantic error type the console bodies can give ---------------------------------

PROBES: tuple[Any, ...] = (
    None,
    "",
    "x" * 20_000,
    "not a value",
    "hanyin-nowhere",
    -1,
    0,
    1.5,
    10**15,
    float("inf"),
    True,
    [],
    [None] * 200,
    {},
    "2999-01-01T00:00:00+08:00",
    "2026-01-01T00:00:00",
    "ftp://example.cn",
    "http://" + "a" * 3000,
)
"""Wrong types, sizes, signs, formats, ids of the right shape naming nothing, times and URLs:
what a form can send in a field."""

NOW = "2026-11-20T09:30:00+08:00"
MEDIATOR = {"mediator_id": "med-1"}
CONSOLE_BODIES: list[tuple[Callable[[Any], Any], dict[str, Any]]] = [
    (HotlineReport.model_validate, hotline_body()),
    (AcceptBody.model_validate, MEDIATOR),
    (SessionBody.model_validate, MEDIATOR | {"held_at": NOW, "participants": ["李四"]}),
    (
        OUTCOME_BODY.validate_python,
        MEDIATOR | {"outcome": "resolved", "agreement": "oral", "summary": "清理排水沟"},
    ),
    (OUTCOME_BODY.validate_python, MEDIATOR | {"outcome": "failed", "reason": "分歧太大"}),
    (OUTCOME_BODY.validate_python, MEDIATOR | {"outcome": "referred", "referred_to": "court"}),
    (FollowUpBody.model_validate, MEDIATOR | {"fulfilled": True}),
    (VisitBody.model_validate, MEDIATOR | {"satisfaction": "satisfied"}),
    (
        SubscriptionIn.model_validate,
        {
            "unit_id": "hanyin-shuangru",
            "kinds": ["escalation"],
            "delivery": {"type": "webhook", "url": "https://example.cn/hook", "format": "json"},
            "digest_minutes": 30,
        },
    ),
    (
        SubscriptionIn.model_validate,
        {"unit_id": "hanyin", "delivery": {"type": "email", "to": ["a@example.cn"]}},
    ),
]
FASTAPI_OWN = ("json_invalid", "model_attributes_type")
"""What FastAPI itself says of a body that is not JSON, or not an object."""


def paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*path, index))


LEFT_OUT = object()


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of `value` with `new` at `path` (a field `LEFT_OUT` is dropped)."""
    copy = dict(value) if isinstance(value, dict) else list(value)
    if len(path) > 1:
        copy[path[0]] = replaced(value[path[0]], path[1:], new)
    elif new is LEFT_OUT:
        del copy[path[0]]
    else:
        copy[path[0]] = new
    return copy


def variants(sample: dict[str, Any]) -> Iterator[Any]:
    """Every probe in place of the body and of each field, each field left out, and an
    unknown field added."""
    for probe in PROBES:
        yield probe
    for path in paths(sample):
        if path:
            for probe in (*PROBES, LEFT_OUT):
                yield replaced(sample, path, probe)
    yield sample | {"unexpected": 1}


def error_types(validate: Callable[[Any], Any], sample: dict[str, Any]) -> set[str]:
    validate(sample)  # the sample itself is valid: each error below comes from one change
    found: set[str] = set()
    for body in variants(sample):
        try:
            validate(body)
        except ValidationError as error:
            found.update(item["type"] for item in error.errors())
    return found


def test_every_error_type_of_the_console_bodies_is_worded() -> None:
    found = set(FASTAPI_OWN)
    for validate, sample in CONSOLE_BODIES:
        found |= error_types(validate, sample)
    assert {"missing", "extra_forbidden", "string_too_long", "enum"} <= found  # the walk works
    assert {"phone_invalid", "unknown_village", "in_future", "email_invalid"} <= found
    assert_worded(sorted(f"invalid.{code}" for code in found))


# ---- the sentences themselves ----------------------------------------------------------------


def placeholders(text: str) -> list[tuple[str, str]]:
    return [(found[1], found[2] or "") for found in PLACEHOLDER.finditer(text)]


@pytest.mark.parametrize("key", sorted(key for key, (zh, en) in TEXT.items() if "{" in zh + en))
def test_both_languages_name_the_same_facts_with_known_kinds(key: str) -> None:
    zh, en = TEXT[key]
    assert {name for name, _ in placeholders(zh)} == {name for name, _ in placeholders(en)}
    kinds = {kind for name, kind in placeholders(zh) + placeholders(en) if kind}
    prefixes = {known.split(".", 1)[0] for known in TEXT}
    assert kinds <= prefixes
    for text in (zh, en):
        assert text.count("{") == text.count("}") == len(placeholders(text)), text


def test_a_step_decided_before_reason_codes_still_reads() -> None:
    from contracts.events import RoutingStep  # noqa: PLC0415 (read here: the old shape)

    old = {
        "tier": "village",
        "unit_id": "hanyin-shuangru-jianghe",
        "rule": "village_default",
        "reason": "no town or county condition matched",
        "inputs": {},
        "policy_version": "sha256:0",
        "decided_at": NOW,
    }
    step = RoutingStep.model_validate(old)
    assert (step.reason_code, step.reason_params) == (None, {})


def test_bodies_are_models_or_adapters() -> None:
    """The walk above only means something if every validator is a real pydantic one."""
    for validate, _ in CONSOLE_BODIES:
        owner = getattr(validate, "__self__", None)
        assert isinstance(owner, TypeAdapter) or (
            isinstance(owner, type) and issubclass(owner, BaseModel)
        )
