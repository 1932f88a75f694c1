"""The routing policy over HTTP: every role reads it, admins change it.

A change is checked exactly as the file is, audited before it is made, and goes to every
router replica through the config topic (router/changes.py). Refused attempts by known
callers are audited too.
"""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from contracts.admin import POLICY_KEY, PolicyChanged
from router.changes import SharedConfig, admin_caller, propose_or_503, refused
from router.models import PolicyView
from router.policy import Policy, PolicyError, parse_policy
from router.watch import PolicyHolder
from services.audit import AuditTrail
from services.auth import AuthSettings, Principal, bearer
from services.http import unprocessable

POLICY_CHANGE = "policy.change"


def policy_view(policies: PolicyHolder) -> JSONResponse:
    """What every role may read: the policy and its version, never where the server keeps
    its file (the audit trail records that for admins)."""
    policy = policies.current
    view = PolicyView(
        version=policy.version,
        loaded_at=policies.loaded_at,
        source=policies.source,
        changed_by=policies.changed_by,
        rejected=policies.rejected,
        policy=policy.model_dump(mode="json"),
    )
    return JSONResponse(view.model_dump(mode="json"), headers={"ETag": f'"{policy.version}"'})


def etag_value(header: str | None) -> str | None:
    """`"sha256:…"` as HTTP quotes it, or bare; `*` asks for no particular version."""
    if header is None:
        return None
    value = header.strip().removeprefix("W/").strip('"')
    return None if value in ("*", "") else value


def stale(expected: str, in_force: str) -> HTTPException:
    return HTTPException(
        status_code=412,
        detail=f"If-Match {expected} is not the policy in force ({in_force}); read it again",
        headers={"ETag": f'"{in_force}"'},
    )


def parse_body(body: bytes, content_type: str) -> Policy | JSONResponse:
    """The policy sent, or the 422 answer naming each bad field."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return unprocessable([("body", "not UTF-8 text")], "invalid_policy")
    try:
        return parse_policy(text, "in the request", as_json="json" in content_type)
    except PolicyError as error:
        fields = [(name or "body", message) for name, message in error.fields]
        return unprocessable(fields or [("body", str(error))], "invalid_policy")


def create_policy_router(shared: SharedConfig, audit: AuditTrail, auth: AuthSettings) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["policy"])
    policies = shared.policies

    @router.get("/policy", response_model=PolicyView)
    async def policy_in_force(_: Annotated[Principal, bearer(auth)]) -> JSONResponse:
        """The policy every decision uses now; `version` (also the ETag) goes in `If-Match`."""
        return policy_view(policies)

    @router.put("/policy", response_model=PolicyView, responses={412: {}, 422: {}, 503: {}})
    async def change_policy(
        request: Request,
        caller: Annotated[Principal, admin_caller(auth, audit, POLICY_CHANGE)],
        if_match: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """The whole policy as the file holds it: YAML, or JSON under a JSON content type.
        With `If-Match`, refused (412) unless that version is still in force, so a change
        someone made meanwhile is never overwritten blindly."""
        parsed = parse_body(await request.body(), request.headers.get("content-type", ""))
        if isinstance(parsed, JSONResponse):
            return parsed
        expected = etag_value(if_match)
        in_force = policies.current.version
        if expected is not None and expected != in_force:
            details = {"expected_version": expected, "version_in_force": in_force}
            await audit.record(caller, POLICY_CHANGE, outcome="denied", details=details)
            raise stale(expected, in_force)
        await _change_policy(shared, audit, caller, parsed, expected)
        return policy_view(policies)

    return router


async def _change_policy(
    shared: SharedConfig, audit: AuditTrail, caller: Principal, policy: Policy, expected: str | None
) -> None:
    """Audited first; if another change got in first (the topic decides), refused with 412."""
    change = PolicyChanged(
        occurred_at=datetime.now(UTC),
        correlation_id=POLICY_KEY,
        actor=caller.subject,
        role=caller.role.value,
        actor_unit_id=caller.unit_id,
        policy=policy.model_dump(mode="json"),
        version=policy.version,
        expected_version=expected,
        source="api",
    )
    details = {
        "change_id": str(change.event_id),
        "version": policy.version,
        "previous_version": shared.policies.current.version,
        "expected_version": expected,
    }
    await audit.record(caller, POLICY_CHANGE, details=details)
    outcome = await propose_or_503(shared, change)
    if outcome.taken:
        return
    not_taken = {**details, "reason": outcome.reason}
    await audit.record(caller, POLICY_CHANGE, outcome="denied", details=not_taken)
    raise refused(outcome, shared.policies.current.version)
