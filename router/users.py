"""People's accounts, managed by admins: create (a mediator's tied to a mediator their unit
lists now), reset a password, disable. Each change is audited before it is made. The JSON API
is `/v1/users`; the users console (router/web.py) makes the same changes through forms."""

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from contracts.ids import UNIT_ID_PATTERN
from router.changes import admin_caller
from services.accounts import (
    PASSWORD_MAX_CHARS,
    USER_NAME_PATTERN,
    Account,
    Accounts,
    UserNameTakenError,
    hash_password,
    password_problem,
    subject_problem,
)
from services.audit import AuditTrail
from services.auth import AuthSettings, Principal, Role
from services.errors import FieldProblem, Refusal, Refused, field_error
from services.jurisdiction import Jurisdiction

USER_CREATE = "user.create"
USER_PASSWORD_RESET = "user.password.reset"  # noqa: S105 (an action's name)
USER_DISABLE = "user.disable"
USER_ENABLE = "user.enable"
UserNamePath = Annotated[str, Path(pattern=USER_NAME_PATTERN)]
Problems = list[dict[str, Any]]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_name: str = Field(pattern=USER_NAME_PATTERN)
    display_name: str = Field(default="", max_length=80)
    password: str = Field(max_length=PASSWORD_MAX_CHARS)
    role: Role
    unit_id: str = Field(pattern=UNIT_ID_PATTERN, max_length=80)
    subject: str = Field(
        default="",
        max_length=80,
        description="A mediator's id, which their unit must list; others act as their user name.",
    )


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(max_length=PASSWORD_MAX_CHARS)


def password_errors(password: str, user_name: str) -> Problems:
    found = password_problem(password, user_name)
    if found is None:
        return []
    code, message, limit = found
    return [field_error("password", code.value, message.format(limit=limit), limit=limit)]


class UserAdmin:
    """The changes themselves, checked against the registry in force (the admins' latest
    mediator lists), shared by the API and the console."""

    def __init__(self, accounts: Accounts, jurisdiction: Jurisdiction, audit: AuditTrail) -> None:
        self.accounts = accounts
        self._jurisdiction = jurisdiction
        self._audit = audit

    def problems(self, body: UserIn) -> Problems:
        registry = self._jurisdiction.current
        found = password_errors(body.password, body.user_name)
        if registry.unit(body.unit_id) is None:
            message = f"no unit {body.unit_id}"
            found.append(
                field_error("unit_id", FieldProblem.UNKNOWN_UNIT, message, unit_id=body.unit_id)
            )
        elif (why := subject_problem(registry, body.role, body.unit_id, body.subject)) is not None:
            code = FieldProblem.MEDIATOR_NOT_OF_UNIT
            params = {"mediator_id": body.subject, "unit_id": body.unit_id}
            found.append(field_error("subject", code, why, **params))
        return found

    async def create(self, caller: Principal, body: UserIn) -> Account | Problems:
        problems = self.problems(body)
        if problems:
            return problems
        now = datetime.now(UTC)
        account = Account(
            user_name=body.user_name,
            display_name=body.display_name.strip() or body.user_name,
            role=body.role,
            unit_id=body.unit_id,
            subject=body.subject if body.role is Role.MEDIATOR else body.user_name,
            created_at=now,
            updated_at=now,
        )
        if await self.accounts.store.find(body.user_name) is not None:
            return [_taken(body.user_name)]
        hashed = await asyncio.to_thread(hash_password, body.password)
        await self._record(caller, USER_CREATE, account)
        try:
            await self.accounts.store.create(account, hashed)
        except UserNameTakenError:  # created meanwhile by another admin
            return [_taken(body.user_name)]
        return account

    async def reset_password(self, caller: Principal, user_name: str, password: str) -> Problems:
        account = await self._existing(user_name)
        problems = password_errors(password, user_name)
        if problems:
            return problems
        hashed = await asyncio.to_thread(hash_password, password)
        await self._record(caller, USER_PASSWORD_RESET, account)
        await self.accounts.store.set_password(user_name, hashed, datetime.now(UTC))
        self.accounts.forget(user_name)
        return []

    async def disable(self, caller: Principal, user_name: str) -> Account:
        return await self._set_disabled(caller, user_name, True)

    async def enable(self, caller: Principal, user_name: str) -> Account:
        return await self._set_disabled(caller, user_name, False)

    async def _set_disabled(self, caller: Principal, user_name: str, disabled: bool) -> Account:
        account = await self._existing(user_name)
        await self._record(caller, USER_DISABLE if disabled else USER_ENABLE, account)
        await self.accounts.store.set_disabled(user_name, disabled, datetime.now(UTC))
        self.accounts.forget(user_name)
        return account.model_copy(update={"disabled": disabled})

    async def _record(self, caller: Principal, action: str, account: Account) -> None:
        """Before the change is made: nothing happens to an account unrecorded."""
        await self._audit.record(caller, action, unit_id=account.unit_id, details=_facts(account))

    async def _existing(self, user_name: str) -> Account:
        document = await self.accounts.store.find(user_name)
        if document is None:
            raise Refused(404, Refusal.USER_NOT_FOUND, f"no user {user_name}", user_name=user_name)
        return Account.from_document(document)


def _facts(account: Account) -> dict[str, Any]:
    """What the audit trail keeps of the account changed (never a password or its hash)."""
    return {
        "user_name": account.user_name,
        "role": account.role.value,
        "unit_id": account.unit_id,
        "subject": account.subject,
    }


def _taken(user_name: str) -> dict[str, Any]:
    message = f"user name {user_name} is taken"
    return field_error("user_name", FieldProblem.USER_NAME_TAKEN, message, user_name=user_name)


def refused_fields(problems: Problems) -> JSONResponse:
    return JSONResponse(status_code=422, content={"error": "invalid_request", "fields": problems})


def create_users_router(admin: UserAdmin, audit: AuditTrail, auth: AuthSettings) -> APIRouter:
    router = APIRouter(prefix="/v1/users", tags=["accounts"])

    @router.get("")
    async def list_users(
        caller: Annotated[Principal, admin_caller(auth, audit, "user.list")],
    ) -> list[dict[str, Any]]:
        return [account.view() for account in await admin.accounts.store.all()]

    @router.post("", status_code=201, response_model=None)
    async def create_user(
        body: UserIn, caller: Annotated[Principal, admin_caller(auth, audit, USER_CREATE)]
    ) -> dict[str, Any] | JSONResponse:
        """A person's account. A mediator's `subject` is a mediator id their unit lists."""
        created = await admin.create(caller, body)
        return refused_fields(created) if isinstance(created, list) else created.view()

    @router.post("/{user_name}/password", status_code=204, response_model=None)
    async def reset_password(
        user_name: UserNamePath,
        body: PasswordIn,
        caller: Annotated[Principal, admin_caller(auth, audit, USER_PASSWORD_RESET)],
    ) -> JSONResponse | None:
        """A new password; the account's sessions signed in before it end."""
        problems = await admin.reset_password(caller, user_name, body.password)
        return refused_fields(problems) if problems else None

    @router.post("/{user_name}/disable")
    async def disable_user(
        user_name: UserNamePath,
        caller: Annotated[Principal, admin_caller(auth, audit, USER_DISABLE)],
    ) -> dict[str, Any]:
        """The person can no longer sign in; their open sessions stop within seconds."""
        return (await admin.disable(caller, user_name)).view()

    @router.post("/{user_name}/enable")
    async def enable_user(
        user_name: UserNamePath,
        caller: Annotated[Principal, admin_caller(auth, audit, USER_ENABLE)],
    ) -> dict[str, Any]:
        """The person signs in again; sessions from before the disable stay ended."""
        return (await admin.enable(caller, user_name)).view()

    return router
