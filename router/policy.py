"""The routing policy as validated data: thresholds, category lists, deadlines (DOMAIN.md).

A policy is identified by a hash of its validated content, so the same rules always carry the
same version whatever the file's comments or layout, and every decision names the version it
used. Defaults equal the shipped `policy.yaml` (a unit test keeps them equal).
"""

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from contracts.vocabulary import Category, HouseholdColor, PartyKind, Priority, RiskFlag, Tier

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.yaml")


class _Strict(BaseModel):
    """A typo in a policy file must fail loudly, not be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PrefectureConditions(_Strict):
    """Where a deployment spans a prefecture (or city) over its counties; a county-only
    registry has no prefecture, so these never match there."""

    cross_county: bool = True


class CountyConditions(_Strict):
    cross_town: bool = True
    amount_yuan_at_least: float | None = Field(default=500_000, gt=0)
    people_at_least: int | None = Field(default=50, ge=1)
    risk_flags: tuple[RiskFlag, ...] = (RiskFlag.GROUP_INCIDENT,)
    party_kinds: tuple[PartyKind, ...] = (PartyKind.GOVERNMENT,)
    categories: tuple[Category, ...] = (Category.LAND_REQUISITION,)


class TownConditions(_Strict):
    cross_village: bool = True
    amount_yuan_at_least: float | None = Field(default=50_000, gt=0)
    people_at_least: int | None = Field(default=10, ge=1)
    categories: tuple[Category, ...] = (
        Category.LAND_BOUNDARY,
        Category.WAGE_ARREARS,
        Category.TRAFFIC_ACCIDENT,
        Category.MEDICAL,
    )


class ReboundRule(_Strict):
    min_reports: int = Field(default=2, ge=1)
    window_days: int = Field(default=90, ge=1)
    resolved_at_tiers: tuple[Tier, ...] = (Tier.VILLAGE, Tier.GRID)

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


class AcceptanceHours(_Strict):
    normal: float = Field(default=24, gt=0)
    urgent: float = Field(default=1, gt=0)


class ResolutionDays(_Strict):
    village: float = Field(default=7, gt=0)
    town: float = Field(default=15, gt=0)
    county: float = Field(default=30, gt=0)
    prefecture: float = Field(default=30, gt=0)


class Deadlines(_Strict):
    acceptance_hours: AcceptanceHours = AcceptanceHours()
    resolution_days: ResolutionDays = ResolutionDays()

    def acceptance(self, *, urgent: bool) -> timedelta:
        hours = self.acceptance_hours.urgent if urgent else self.acceptance_hours.normal
        return timedelta(hours=hours)

    def resolution(self, tier: Tier) -> timedelta:
        days = {
            Tier.PREFECTURE: self.resolution_days.prefecture,
            Tier.COUNTY: self.resolution_days.county,
            Tier.TOWN: self.resolution_days.town,
        }.get(tier, self.resolution_days.village)
        return timedelta(days=days)


class Assignment(_Strict):
    max_open_cases_per_mediator: int = Field(default=30, ge=1)


_DEFAULT_URGENT = tuple(RiskFlag)
_DEFAULT_COLOURS = {
    HouseholdColor.RED: Priority.HIGH,
    HouseholdColor.YELLOW: Priority.ELEVATED,
    HouseholdColor.GREEN: Priority.NORMAL,
}


class Policy(_Strict):
    prefecture: PrefectureConditions = PrefectureConditions()
    county: CountyConditions = CountyConditions()
    town: TownConditions = TownConditions()
    rebound: ReboundRule = ReboundRule()
    urgent_risk_flags: tuple[RiskFlag, ...] = _DEFAULT_URGENT
    household_priority: dict[HouseholdColor, Priority] = Field(
        default_factory=lambda: dict(_DEFAULT_COLOURS)
    )
    deadlines: Deadlines = Deadlines()
    assignment: Assignment = Assignment()

    _version: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _town_below_county(self) -> Self:
        pairs = (
            (
                "amount_yuan_at_least",
                self.town.amount_yuan_at_least,
                self.county.amount_yuan_at_least,
            ),
            ("people_at_least", self.town.people_at_least, self.county.people_at_least),
        )
        for name, town, county in pairs:
            if town is not None and county is not None and town >= county:
                raise ValueError(f"town.{name} ({town}) must be below county.{name} ({county})")
        return self

    def model_post_init(self, context: Any, /) -> None:
        digest = hashlib.sha256(self.model_dump_json().encode()).hexdigest()
        self._version = f"sha256:{digest[:16]}"

    @property
    def version(self) -> str:
        """Content hash of the validated policy: what every RoutingStep records."""
        return self._version


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and each bad field."""

    def __init__(self, message: str, fields: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.fields = fields
        """(dotted field, what is wrong) per bad field; "" for the policy as a whole."""


def parse_policy(text: str, source: str = "<policy>", *, as_json: bool = False) -> Policy:
    """The same checks for the file and for a policy sent over HTTP (as YAML or JSON)."""
    try:
        raw = json.loads(text) if as_json else yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as error:
        form = "JSON" if as_json else "YAML"
        raise PolicyError(f"policy {source} is not valid {form}: {error}") from error
    if not isinstance(raw, dict):
        raise PolicyError(
            f"policy {source} must be a mapping of settings, got {type(raw).__name__}"
        )
    reason = "missing: a policy states every setting, none is taken from defaults"
    missing = tuple((name, reason) for name in missing_settings(raw, Policy))
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as error:
        fields = field_errors(error) + missing
        raise PolicyError(f"policy {source} is invalid: {describe(fields)}", fields) from error
    if missing:
        raise PolicyError(f"policy {source} is invalid: {describe(missing)}", missing)
    return policy


def missing_settings(raw: dict[str, Any], model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted names of the settings `raw` leaves out, sections and their fields alike: a
    policy half sent must not be completed silently with defaults."""
    missing = []
    for name, field in model.model_fields.items():
        if name not in raw:
            missing.append(prefix + name)
            continue
        section, given = field.annotation, raw[name]
        if isinstance(section, type) and issubclass(section, BaseModel) and isinstance(given, dict):
            missing += missing_settings(given, section, f"{prefix}{name}.")
    return missing


def load_policy(path: Path, source: str | None = None) -> Policy:
    """`source` names the policy in error messages, instead of its path: a message that
    readers of the policy see must not tell where the server keeps its files."""
    name = source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise PolicyError(f"policy {name} cannot be read: {reason}") from error
    return parse_policy(text, name)


def field_errors(error: ValidationError) -> tuple[tuple[str, str], ...]:
    """A check across fields (town below county) has no location ("" here): it names its
    fields in the message."""
    return tuple(
        (".".join(str(part) for part in item["loc"]), item["msg"])
        for item in error.errors(include_url=False)
    )


def describe(problems: ValidationError | tuple[tuple[str, str], ...]) -> str:
    """`town.amount_yuan_at_least: Input should be greater than 0; ...`"""
    if isinstance(problems, ValidationError):
        problems = field_errors(problems)
    return "; ".join(f"{name or '<root>'}: {message}" for name, message in problems)
