"""The registry's revision as HTTP carries it: the ETag of the unit endpoints, and the
`If-Match` a unit or mediator change may be made under (412 when another change came first)."""

from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse

from contracts.admin import MediatorsChanged, UnitChanged
from contracts.registry import Registry
from router.changes import SharedConfig, propose_or_503, refused
from router.models import UnitRetired, UnitView
from router.policy_api import etag_value
from services.audit import AuditTrail
from services.auth import Principal
from services.errors import Refusal, Refused

IfMatch = Annotated[
    str | None,
    Header(description='The registry revision the change is made against (`"12"`).'),
]


def etag(revision: int) -> str:
    return f'"{revision}"'


def stale(expected: str, revision: int) -> Refused:
    return Refused(
        412,
        Refusal.STALE_REVISION,
        f"revision {expected} is no longer in force (now {revision}); read the unit again",
        headers={"ETag": etag(revision)},
        expected=expected,
        revision=revision,
    )


def expected_revision(if_match: str | None, registry: Registry) -> int | None:
    """The revision `If-Match` names (None: no condition, or `*`); refused at once (412) when
    another change came first. The replicas check it again as they read the change."""
    value = etag_value(if_match)
    if value is None:
        return None
    if not value.isdigit() or int(value) != registry.revision:
        raise stale(value, registry.revision)
    return int(value)


def with_etag(view: UnitView | UnitRetired, status_code: int = 200) -> JSONResponse:
    headers = {"ETag": etag(view.revision)}
    return JSONResponse(view.model_dump(mode="json"), status_code=status_code, headers=headers)


async def propose_audited(
    shared: SharedConfig,
    audit: AuditTrail,
    caller: Principal,
    change: MediatorsChanged | UnitChanged,
    *,
    action: str,
    details: dict[str, Any],
) -> None:
    """A jurisdiction change, audited before it is made and again when it is not taken:
    412 when another change replaced its revision first, else as `refused` says."""
    unit_id = change.unit_id
    await audit.record(caller, action, unit_id=unit_id, details=details)
    outcome = await propose_or_503(shared, change)
    if outcome.taken:
        return
    not_taken = {**details, "reason": outcome.reason}
    await audit.record(caller, action, outcome="denied", unit_id=unit_id, details=not_taken)
    revision = shared.jurisdiction.current.revision
    if outcome.refusal == "conflict":
        raise stale(str(change.expected_revision), revision)
    raise refused(outcome, str(revision))
