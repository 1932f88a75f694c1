"""Changes an admin makes to what the router decides with: the routing policy and which
mediators serve a unit. Published on `topics.CONFIG`, applied by every router in log order."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import Event
from contracts.ids import MEDIATOR_ID_PATTERN
from contracts.vocabulary import Category

POLICY_KEY = "policy"


def mediators_key(unit_id: str) -> str:
    return f"mediators:{unit_id}"


class ChangeMade(Event):
    """Who made a change: the admin's token, or the router itself for its policy file."""

    actor: str = Field(description="Subject of the admin's token, or `router` for the file.")
    role: str = Field(description="Role of the actor (`admin`, or `service`).")
    actor_unit_id: str = Field(description="Jurisdiction unit of the actor.")


class PolicyChanged(ChangeMade):
    """A new routing policy, in full. Applied only if `expected_version` is still in force
    when the change is read, so two admins never overwrite each other blindly."""

    event_type: Literal["PolicyChanged"] = "PolicyChanged"
    policy: dict[str, Any] = Field(description="The validated policy document (as JSON).")
    version: str = Field(description="Content hash of the policy (`sha256:...`).")
    expected_version: str | None = Field(
        default=None, description="The version this change replaces; none: whatever is in force."
    )
    source: Literal["api", "file"] = Field(description="PUT /v1/policy, or the watched file.")


class MediatorEntry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(pattern=MEDIATOR_ID_PATTERN, max_length=80, description="Mediator id.")
    name: str = Field(min_length=1, max_length=50, description="Name as shown to people.")
    categories: tuple[Category, ...] = Field(description="Categories the mediator handles.")


class MediatorsChanged(ChangeMade):
    """The whole list of mediators now serving one unit (a mediator listed here who served
    another unit moves here)."""

    event_type: Literal["MediatorsChanged"] = "MediatorsChanged"
    unit_id: str = Field(description="The unit (county, town or village).")
    mediators: tuple[MediatorEntry, ...] = Field(description="Every mediator of the unit now.")


ConfigChange = Annotated[PolicyChanged | MediatorsChanged, Field(discriminator="event_type")]
