"""Changes an admin makes to what the services decide with: the routing policy, the
jurisdictions and which mediators serve a unit. Published on `topics.CONFIG`, applied by every
replica of every service in log order."""

import base64
import gzip
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import Event
from contracts.ids import MEDIATOR_ID_PATTERN
from contracts.registry import UnitKind
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
    expected_revision: int | None = Field(
        default=None, description="The registry revision this change was made against."
    )


class RegistryImported(ChangeMade):
    """A jurisdiction file, whole (`python -m router registry import`): its tree replaces the
    tree under the same top unit, or joins the registry beside the others. Carried as the file
    itself, compressed, so every replica reads it with the same checks and nothing is ever
    half-applied; a 10,000-unit prefecture compresses to a few hundred kilobytes."""

    event_type: Literal["RegistryImported"] = "RegistryImported"
    file_name: str = Field(max_length=200, description="Name of the file (`.json` is JSON).")
    content_gzip: str = Field(description="The file's bytes, gzip-compressed, base64-encoded.")
    top_unit_id: str = Field(description="The file's top unit (its county or prefecture).")
    units: int = Field(ge=1, description="How many units the file holds.")
    version: str = Field(description="The file's name and content hash.")

    @staticmethod
    def pack(raw: bytes) -> str:
        return base64.b64encode(gzip.compress(raw, mtime=0)).decode("ascii")

    def content(self) -> bytes:
        return gzip.decompress(base64.b64decode(self.content_gzip))


def unit_key(unit_id: str) -> str:
    return f"unit:{unit_id}"


class UnitEntry(BaseModel):
    """A unit as the registry holds it (`contracts.registry.Unit`); checked when applied, with
    the checks a jurisdiction file's rows get."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(description="Slug or division code.")
    kind: UnitKind
    parent_id: str | None = Field(description="The unit it belongs to; none for a top unit.")
    name: str
    name_en: str = ""
    mediation_body: str | None = None
    lat: float | None = None
    lon: float | None = None


class UnitChanged(ChangeMade):
    """One unit added, renamed or moved (`unit` as it is now), or retired (`unit` none, its
    mediators and WeChat groups going with it). With `expected_revision`, taken only if the
    registry is still at that revision when the change is read, on every replica alike."""

    event_type: Literal["UnitChanged"] = "UnitChanged"
    action: Literal["add", "change", "retire"] = Field(
        description="A new unit (its id must be free), a known one changed, or one retired."
    )
    unit_id: str = Field(description="The unit.")
    unit: UnitEntry | None = Field(description="The unit from now on; none when retired.")
    expected_revision: int | None = Field(
        default=None, description="The registry revision this change was made against."
    )


ConfigChange = Annotated[
    PolicyChanged | MediatorsChanged | RegistryImported | UnitChanged,
    Field(discriminator="event_type"),
]
