"""HTTP bodies of intake. They forbid unknown fields so a typo is an error, not a silent loss;
places are checked against the jurisdiction registry so an unknown id is named, not guessed."""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.ids import UnitId
from contracts.registry import in_force
from contracts.vocabulary import Category, HouseholdColor, PartyKind, RiskFlag
from services.errors import FieldProblem, problem

CLOCK_SKEW = timedelta(minutes=5)
"""A report may say "now" by a slightly fast clock; beyond this it is in the future."""

_SEPARATORS = re.compile(r"[\s\-()]")
_MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^(?:\+?86)?0\d{9,11}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _phone(value: str) -> str:
    """Mainland mobile or landline with area code; messages never echo the number."""
    compact = _SEPARATORS.sub("", value)
    if _MOBILE.match(compact):
        return compact[-11:]  # one form per number, so its hash matches however it was typed
    if not _LANDLINE.match(compact):
        raise problem(FieldProblem.PHONE_INVALID, "not a mainland mobile or landline number")
    return compact


def _id_number(value: str) -> str:
    """18-character resident ID number with a valid check character (GB 11643)."""
    value = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise problem(FieldProblem.ID_NUMBER_INVALID, "not an 18-character resident ID number")
    total = sum(int(digit) * weight for digit, weight in zip(value, _ID_WEIGHTS, strict=False))
    if _ID_CHECK[total % 11] != value[-1]:
        raise problem(FieldProblem.ID_NUMBER_CHECKSUM, "resident ID number fails its check digit")
    return value


def _known_village(value: str) -> str:
    unit = in_force().unit(value)
    if unit is None or unit.kind != "village":
        raise problem(FieldProblem.UNKNOWN_VILLAGE, "unknown village")
    return value


def _known_grid(value: str) -> str:
    unit = in_force().unit(value)
    if unit is None or unit.kind != "grid":
        raise problem(FieldProblem.UNKNOWN_GRID, "unknown grid")
    return value


def _not_in_future(value: datetime) -> datetime:
    if value > datetime.now(UTC) + CLOCK_SKEW:
        raise problem(FieldProblem.IN_FUTURE, "is in the future")
    return value


Phone = Annotated[str, StringConstraints(max_length=30), AfterValidator(_phone)]
IdNumber = Annotated[str, StringConstraints(max_length=18), AfterValidator(_id_number)]
VillageId = Annotated[UnitId, AfterValidator(_known_village)]
GridId = Annotated[UnitId, AfterValidator(_known_grid)]
PastTime = Annotated[AwareDatetime, AfterValidator(_not_in_future)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ClientKey = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^\S+$")
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PartyIn(Body):
    kind: PartyKind = PartyKind.PERSON
    name: ShortText = ""
    phone: Phone | None = None
    village_id: VillageId | None = None
    household_id: ShortText | None = None
    household_color: HouseholdColor | None = None


class CallerIn(Body):
    """Who called. Their contact is sealed; they become a party only when they are one."""

    name: ShortText = ""
    phone: Phone | None = None
    is_party: bool = False


class _Report(Body):
    """What every channel's report says about the dispute itself."""

    category: Category
    description: Description
    parties: list[PartyIn] = Field(default_factory=list, max_length=50)
    people_involved: int = Field(default=1, ge=1, le=100_000)
    amount_yuan: float = Field(default=0, ge=0, le=1e12)
    risk_flags: list[RiskFlag] = Field(default_factory=list, max_length=10)
    occurred_at: PastTime | None = None


class _Placed(Body):
    village_id: VillageId | None = None
    grid_id: GridId | None = None
    address_text: ShortText | None = None

    @field_validator("grid_id")
    @classmethod
    def _grid_in_village(cls, grid_id: str | None, info: ValidationInfo) -> str | None:
        village_id = info.data.get("village_id")
        if grid_id and village_id and not in_force().is_within(grid_id, village_id):
            raise problem(
                FieldProblem.GRID_NOT_IN_VILLAGE,
                "grid is not in village {village_id}",
                village_id=village_id,
            )
        return grid_id

    @model_validator(mode="after")
    def _has_a_place(self) -> Self:
        if not (self.village_id or self.grid_id or self.address_text):
            raise problem(
                FieldProblem.PLACE_REQUIRED,
                "one of village_id, grid_id or address_text is required",
            )
        return self


class HotlineReport(_Report, _Placed):
    """What a hotline operator files from a call."""

    channel: Literal["hotline"] = "hotline"
    caller: CallerIn | None = None


class WeChatSender(Body):
    nickname: ShortText = ""
    wxid: ShortText | None = None


class WeChatMessage(Body):
    """A group message forwarded by the bot, as the group saw it."""

    message_id: ClientKey
    group_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    sender: WeChatSender = Field(default_factory=WeChatSender)
    text: Description
    sent_at: PastTime


class GridReporter(Body):
    worker_id: Name
    name: ShortText = ""
    role: Literal["grid_worker", "central_household_head"] = "grid_worker"


class GridParty(PartyIn):
    """In the field the worker knows each household, so id and colour are required."""

    household_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    household_color: HouseholdColor


class GridReport(_Report):
    """A grid worker or central household head reporting from their own grid."""

    report_id: ClientKey | None = None
    grid_id: GridId
    reporter: GridReporter
    parties: list[GridParty] = Field(min_length=1, max_length=50)  # type: ignore[assignment]


class Petitioner(Body):
    """Sealed as a whole: never logged, never on Kafka in clear."""

    name: Name
    id_number: IdNumber
    phone: Phone | None = None
    village_id: VillageId | None = None
    household_color: HouseholdColor | None = None


class PetitionReport(_Report, _Placed):
    """A petition agent (信访代理员) filing for a villager."""

    agent_id: Name
    petition_ref: ClientKey | None = None
    petitioner: Petitioner
    demands: list[Annotated[str, StringConstraints(min_length=1, max_length=1000)]] = Field(
        min_length=1, max_length=20
    )


class ReportAccepted(BaseModel):
    dispute_id: str
    tracking_number: str
    status: Literal["received"] = "received"
    needs_triage: bool = False
    triage_reason: str | None = None
    possible_duplicate_of: str | None = None


class MessageRecorded(BaseModel):
    """A WeChat message that is not a dispute: recorded with the reason, nothing published."""

    message_id: str
    status: Literal["not_a_dispute"] = "not_a_dispute"
    reason: str
