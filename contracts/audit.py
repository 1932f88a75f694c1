"""The audit trail: who read sealed data or changed a case, in what role, for which unit."""

from typing import Any, Literal

from pydantic import Field

from contracts.events import Event


class AuditRecorded(Event):
    """One sensitive read or one change, by one known caller. Append-only."""

    event_type: Literal["AuditRecorded"] = "AuditRecorded"
    actor: str = Field(description="Subject of the caller's token.")
    role: str = Field(description="Role of the caller.")
    actor_unit_id: str = Field(description="Jurisdiction unit of the caller.")
    action: str = Field(description="What was done, e.g. case.accept or sealed.read.")
    outcome: Literal["allowed", "denied"] = Field(description="Whether it was allowed.")
    case_id: str | None = Field(default=None, description="The case concerned, if any.")
    unit_id: str | None = Field(default=None, description="The unit concerned, if any.")
    details: dict[str, Any] = Field(default_factory=dict, description="Non-sensitive facts.")
