"""People's accounts: a user name and password each, a role and a unit, kept in the shared
database (`users`), so every console signs people in against the same accounts.

Passwords are stored only as Argon2id hashes. A sign-in becomes a session token naming the
account (services/auth.py `issue_token(user=...)`); each console request checks that the account
still lets it (not disabled, no password reset since), through a cache of a few seconds.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import status
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts.ids import UNIT_ID_PATTERN
from contracts.registry import Registry
from services.auth import AuthSettings, Principal, Role, issue_token
from services.errors import FieldProblem, Refusal, Refused
from services.mongo import Document

USERS = "users"
USER_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,39}$"
PASSWORD_MIN_CHARS = 10
PASSWORD_MAX_CHARS = 128
WRONG_CREDENTIALS = "wrong user name or password"
"""The one answer to a failed sign-in: it never tells whether the user name exists."""


class AccountSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIGNIN_", extra="ignore")

    user_burst: int = Field(default=5, ge=1, description="Failed sign-ins one user name may have.")
    user_rate_per_s: float = Field(
        default=1 / 60, gt=0, description="How fast a user name earns back a failed attempt."
    )
    address_burst: int = Field(default=20, ge=1, description="Failed sign-ins one address may.")
    address_rate_per_s: float = Field(default=0.2, gt=0)
    session_check_s: float = Field(
        default=5.0,
        ge=0,
        description="How long a console trusts what it last read of an account: a disabled "
        "account's sessions stop within this.",
    )


# ---- the pure parts: names, passwords, hashes ------------------------------------------------


def password_problem(password: str, user_name: str) -> tuple[FieldProblem, str, int] | None:
    """Why a new password is refused (code, English, the limit), or None. Length is what
    makes a password hard to guess; a rule about character classes mostly makes it hard to
    remember."""
    if len(password) < PASSWORD_MIN_CHARS:
        return FieldProblem.PASSWORD_TOO_SHORT, "at least {limit} characters", PASSWORD_MIN_CHARS
    if len(password) > PASSWORD_MAX_CHARS:
        return FieldProblem.PASSWORD_TOO_LONG, "at most {limit} characters", PASSWORD_MAX_CHARS
    if user_name and user_name.lower() in password.lower():
        return FieldProblem.PASSWORD_HAS_NAME, "must not contain the user name", 0
    if len(set(password)) < 4:
        return FieldProblem.PASSWORD_TOO_SIMPLE, "too few different characters", 4
    return None


_HASHER = PasswordHasher()


@cache
def _nobody() -> str:
    """Checked against when the user name is unknown: a miss takes as long as a wrong password."""
    return _HASHER.hash("no account has this password")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# ---- accounts as documents -------------------------------------------------------------------


class Account(BaseModel):
    user_name: str = Field(pattern=USER_NAME_PATTERN)
    display_name: str = Field(min_length=1, max_length=80)
    role: Role
    unit_id: str = Field(pattern=UNIT_ID_PATTERN)
    subject: str = Field(min_length=1, max_length=80)
    """Who the account acts as: a mediator's id in their unit's list, else the user name."""
    disabled: bool = False
    created_at: datetime
    updated_at: datetime
    generation: int = 0
    """Counts password resets; a session signed in under an earlier one no longer counts."""

    @classmethod
    def from_document(cls, document: Document) -> "Account":
        return cls.model_validate(document)

    def view(self) -> dict[str, Any]:
        """What admins see of an account: everything but its hash."""
        return self.model_dump(mode="json", exclude={"generation"})


def subject_problem(registry: Registry, role: Role, unit_id: str, subject: str) -> str | None:
    """A mediator's account acts as a mediator their unit lists, or it could not act at all."""
    if role is not Role.MEDIATOR:
        return None
    listed = registry.mediators.get(subject)
    if listed is None or listed.unit_id != unit_id:
        return f"{subject or '(none)'} is not a mediator {unit_id} lists"
    return None


class UserNameTakenError(Exception):
    pass


class AccountStore:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._users = database[USERS]

    async def ensure_indexes(self) -> None:
        await self._users.create_index([("user_name", ASCENDING)], unique=True, name="user_name")

    async def find(self, user_name: str) -> Document | None:
        return await self._users.find_one({"user_name": user_name}, {"_id": 0})

    async def all(self) -> list[Account]:
        cursor = self._users.find({}, {"_id": 0}).sort("user_name", ASCENDING)
        return [Account.from_document(document) async for document in cursor]

    async def create(self, account: Account, password_hash: str) -> None:
        document = {**account.model_dump(), "password_hash": password_hash}
        try:
            await self._users.insert_one(document)
        except DuplicateKeyError as error:
            raise UserNameTakenError(account.user_name) from error

    async def set_password(self, user_name: str, password_hash: str, now: datetime) -> bool:
        """A new password, and every session of the old one ends."""
        change = {"password_hash": password_hash, "updated_at": now}
        result = await self._users.update_one(
            {"user_name": user_name}, {"$set": change, "$inc": {"generation": 1}}
        )
        return result.matched_count == 1

    async def set_disabled(self, user_name: str, disabled: bool, now: datetime) -> bool:
        """Disabled or enabled again; either way the sessions from before stay ended."""
        change = {"disabled": disabled, "updated_at": now}
        result = await self._users.update_one(
            {"user_name": user_name}, {"$set": change, "$inc": {"generation": 1}}
        )
        return result.matched_count == 1

    async def put(self, account: Account, password_hash: str) -> None:
        """Create or overwrite an account as given (the development stack's demo users)."""
        document = {**account.model_dump(), "password_hash": password_hash}
        await self._users.replace_one({"user_name": account.user_name}, document, upsert=True)


# ---- signing in and staying signed in --------------------------------------------------------


def session_ended(user_name: str, why: str) -> Refused:
    return Refused(
        status.HTTP_401_UNAUTHORIZED,
        Refusal.SESSION_ENDED,
        f"the session of {user_name} has ended: {why}; sign in again",
        headers={"WWW-Authenticate": 'Bearer realm="tiaojie"'},
        user_name=user_name,
    )


@dataclass
class _Seen:
    account: Account | None
    at: float


@dataclass
class Accounts:
    """Sign-in against the stored accounts, and the check each console request makes."""

    store: AccountStore
    auth: AuthSettings
    settings: AccountSettings = field(default_factory=AccountSettings)
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, _Seen] = field(default_factory=dict)

    async def sign_in(self, user_name: str, password: str) -> str | None:
        """A session token for the account, or None for a wrong user name or password, or a
        disabled account (said the same way). The hash is checked off the event loop."""
        document = await self.store.find(user_name) if user_name else None
        stored = str(document["password_hash"]) if document else _nobody()
        matches = await asyncio.to_thread(password_matches, stored, password)
        if document is None or not matches:
            return None
        account = Account.from_document(document)
        self._seen[account.user_name] = _Seen(account, self.clock())  # what the session sees
        if account.disabled:
            return None
        return issue_token(
            self.auth,
            subject=account.subject,
            role=account.role,
            unit_id=account.unit_id,
            user=account.user_name,
            generation=account.generation,
        )

    async def check(self, principal: Principal) -> None:
        """401 unless the session's account still exists, is enabled and has not changed
        (password reset, disabled) since the session began."""
        assert principal.user is not None
        account = await self._account(principal.user)
        if account is None:
            raise session_ended(principal.user, "no such account")
        if account.disabled:
            raise session_ended(principal.user, "the account is disabled")
        if principal.generation != account.generation:
            raise session_ended(principal.user, "the account changed since the session began")

    def forget(self, user_name: str) -> None:
        """This replica's changes count at once here; other replicas see them within the
        cache's seconds."""
        self._seen.pop(user_name, None)

    async def _account(self, user_name: str) -> Account | None:
        now = self.clock()
        seen = self._seen.get(user_name)
        if seen is None or now - seen.at >= self.settings.session_check_s:
            document = await self.store.find(user_name)
            account = Account.from_document(document) if document else None
            seen = self._seen[user_name] = _Seen(account, now)
        return seen.account


def serve_consoles(auth: AuthSettings, database: AsyncDatabase[Document], service: str) -> Accounts:
    """The service's consoles sign people in against the shared accounts, in a cookie of
    their own, and a session counts only while its account lets it."""
    accounts = Accounts(AccountStore(database), auth)
    auth.serve_consoles(service, accounts.check)
    return accounts
