"""Admin changes shared by every router replica through the config topic.

A change is published, then applied by each replica as it reads the topic, in the topic's
order; the replica that published it waits until it has read it back, so its answer says
what every replica decided and it already routes with the change.
"""

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog
from fastapi import Depends, HTTPException, Request
from pydantic import ValidationError

from contracts.admin import POLICY_KEY, PolicyChanged
from contracts.events import Event, deterministic_event_id
from router.policy import Policy
from router.watch import TAKEN, Outcome, PolicyHolder
from services.audit import SERVICE_ROLE, AuditTrail, service_event
from services.auth import AuthSettings, Principal, Role, authenticate, forbid, token_of
from services.errors import Refusal
from services.jurisdiction import CHANGE, Jurisdiction, JurisdictionChange, StaleRevisionError

Publish = Callable[[Event], Awaitable[None]]


def apply_change(
    change: PolicyChanged | JurisdictionChange, policies: PolicyHolder, jurisdiction: Jurisdiction
) -> Outcome:
    if isinstance(change, PolicyChanged):
        return policies.apply(change)
    refused = jurisdiction.take(change)
    if refused is None:
        return TAKEN
    conflict = isinstance(refused, StaleRevisionError)
    return Outcome(False, "conflict" if conflict else "invalid", str(refused))


def replay_changes(values: list[bytes], policies: PolicyHolder, jurisdiction: Jurisdiction) -> None:
    """What the config topic holds, applied in order (for a tool reading it once)."""
    for value in values:
        with suppress(ValidationError):
            apply_change(CHANGE.validate_json(value), policies, jurisdiction)


class NotConfirmedError(Exception):
    """The change was published but not read back in time; it may still take effect."""


class SharedConfig:
    def __init__(
        self,
        *,
        policies: PolicyHolder,
        jurisdiction: Jurisdiction,
        publish: Publish | None,
        audit: AuditTrail,
        service: str,
        logger: structlog.stdlib.BoundLogger,
        confirm_s: float = 10.0,
    ) -> None:
        """`publish` None applies changes in this process only (no broker: component tests)."""
        self.policies = policies
        self.jurisdiction = jurisdiction
        self._publish = publish or self._loopback
        self._audit = audit
        self._service = service
        self._log = logger.bind(component="shared-config")
        self._confirm_s = confirm_s
        self._waiting: dict[UUID, asyncio.Future[Outcome]] = {}

    async def _loopback(self, event: Event) -> None:
        self.apply_record(event.model_dump_json().encode())

    def apply_record(self, value: bytes) -> None:
        """One record of the config topic, in order (called by the follower)."""
        try:
            change = CHANGE.validate_json(value)
        except ValidationError as error:
            self._log.warning("config record skipped", error=str(error)[:500])
            return
        outcome = apply_change(change, self.policies, self.jurisdiction)
        if not outcome.taken:
            self._log.warning(
                "config change refused", change_id=str(change.event_id), reason=outcome.reason
            )
        waiting = self._waiting.pop(change.event_id, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(outcome)

    async def propose(self, change: PolicyChanged | JurisdictionChange) -> Outcome:
        """Publish and wait for this replica to read the change back."""
        waiting: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting[change.event_id] = waiting
        try:
            try:
                await self._publish(change)
            except Exception as error:
                self._log.warning("config change not published", error=repr(error))
                return Outcome(False, "unpublished", f"not published: {error!r}")
            try:
                return await asyncio.wait_for(waiting, self._confirm_s)
            except TimeoutError as error:
                raise NotConfirmedError(str(change.event_id)) from error
        finally:
            self._waiting.pop(change.event_id, None)

    async def share_file(self, policy: Policy) -> Outcome:
        """The policy file changed on this replica: every replica takes it, and it is audited
        as the router's own change."""
        county = self.jurisdiction.current.top.id
        now = datetime.now(UTC)
        change = PolicyChanged(
            occurred_at=now,
            correlation_id=POLICY_KEY,
            actor=self._service,
            role=SERVICE_ROLE,
            actor_unit_id=county,
            policy=policy.model_dump(mode="json"),
            version=policy.version,
            source="file",
        )
        record = service_event(
            self._service,
            "policy.change",
            event_id=deterministic_event_id(str(change.event_id), "audit"),
            occurred_at=now,
            actor_unit_id=county,
            details={
                "source": "file",
                "path": str(self.policies.path),
                "version": policy.version,
                "previous_version": self.policies.current.version,
            },
        )
        await self._audit.record_all([record])
        return await self.propose(change)


def admin_caller(auth: AuthSettings, audit: AuditTrail, action: str) -> Any:
    """A FastAPI dependency giving the admin calling. A known caller who is not an admin is
    refused (403) and the attempt is audited, before the body is even looked at."""

    async def dependency(request: Request) -> Principal:
        caller = authenticate(auth, token_of(request))
        await auth.check_session(caller)
        if caller.role is Role.ADMIN:
            return caller
        reason = f"role {caller.role.value} may not change this (allowed: admin)"
        unit_id = request.path_params.get("unit_id")
        details = {"reason": reason}
        await audit.record(caller, action, outcome="denied", unit_id=unit_id, details=details)
        raise forbid(
            Refusal.ROLE_NOT_ALLOWED, reason, role=caller.role.value, allowed_roles=["admin"]
        )

    return Depends(dependency)


async def propose_or_503(
    shared: SharedConfig, change: PolicyChanged | JurisdictionChange
) -> Outcome:
    try:
        return await shared.propose(change)
    except NotConfirmedError as error:
        raise HTTPException(
            status_code=503,
            detail=f"change {error} published but not yet read back; it may still take effect",
        ) from error


def refused(outcome: Outcome, in_force: str) -> HTTPException:
    """The answer to a change that was not taken."""
    if outcome.refusal == "conflict":
        return HTTPException(
            status_code=412,
            detail=f"{outcome.reason}; read the policy again",
            headers={"ETag": f'"{in_force}"'},
        )
    if outcome.refusal == "unpublished":
        return HTTPException(status_code=503, detail=f"nothing changed: {outcome.reason}")
    return HTTPException(status_code=422, detail=outcome.reason)
