"""HTTP bodies of intake. They forbid unknown fields so a typo is an error, not a silent loss."""

from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from contracts.ids import UnitId
from contracts.vocabulary import Category, HouseholdColor, PartyKind, RiskFlag

Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 \-]{4,19}$")
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PartyIn(_Body):
    kind: PartyKind = PartyKind.PERSON
    name: ShortText = ""
    phone: Phone | None = None
    village_id: UnitId | None = None
    household_id: ShortText | None = None
    household_color: HouseholdColor | None = None


class CallerIn(_Body):
    name: ShortText = ""
    phone: Phone | None = None


class HotlineReport(_Body):
    """What a hotline operator files from a call."""

    channel: Literal["hotline"] = "hotline"
    category: Category
    description: str = Field(min_length=1, max_length=10_000)
    village_id: UnitId | None = None
    grid_id: UnitId | None = None
    address_text: ShortText | None = None
    parties: list[PartyIn] = Field(default_factory=list, max_length=50)
    people_involved: int = Field(default=1, ge=1, le=100_000)
    amount_yuan: float = Field(default=0, ge=0, le=1e12)
    risk_flags: list[RiskFlag] = Field(default_factory=list)
    occurred_at: AwareDatetime | None = None
    caller: CallerIn | None = None

    @field_validator("occurred_at")
    @classmethod
    def _not_in_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > datetime.now(UTC):
            raise ValueError("occurred_at is in the future")
        return value

    @model_validator(mode="after")
    def _has_a_place(self) -> Self:
        if not (self.village_id or self.grid_id or self.address_text):
            raise ValueError("one of village_id, grid_id or address_text is required")
        return self


class ReportAccepted(BaseModel):
    dispute_id: str
    tracking_number: str
    status: Literal["received"] = "received"
