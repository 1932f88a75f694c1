"""Who is calling: signed bearer tokens (JWT, HS256) carrying a role and a jurisdiction unit.

Keys rotate by key id: `AUTH_KEYS="k2:<secret>,k1:<secret>"` signs with the first and verifies
with any, so tokens issued under k1 keep working until k1 is removed.
`python -m services.auth issue --role mediator --unit hanyin-shuangru-jianghe --subject med-1`
prints a token.
"""

import argparse
import re
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import jwt
from fastapi import Depends, Request, Response, status
from pydantic import BaseModel, Field, PrivateAttr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.ids import UNIT_ID_PATTERN
from contracts.registry import Registry, in_force
from services.deployment import Secret, keyed_secrets
from services.errors import Refusal, Refused

ISSUER = "tiaojie"
DEVELOPMENT_AUTH_KEYS = "dev1:tiaojie-development-signing-key-change-me"
"""Public, so `make up` works on a fresh machine; a production service refuses to start on it."""


class Role(StrEnum):
    OPERATOR = "operator"
    GRID_WORKER = "grid_worker"
    PETITION_AGENT = "petition_agent"
    MEDIATOR = "mediator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


SUBMITTERS = frozenset({Role.OPERATOR, Role.GRID_WORKER, Role.PETITION_AGENT})

SessionCheck = Callable[["Principal"], Awaitable[None]]
COOKIE = "tiaojie_session"
"""The stem of each console's cookie: `session_cookie` adds the service's name."""
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def session_cookie(service: str) -> str:
    """The cookie a console keeps its person's token in. Cookies are scoped by host, not by
    port, so consoles on one host with one cookie name would overwrite each other's sign-in."""
    if not _SERVICE_NAME.match(service):
        raise ValueError(f"not a service name for a cookie: {service!r}")
    return f"{COOKIE}_{service}"


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    auth_keys: str = Field(
        default=DEVELOPMENT_AUTH_KEYS,
        description="Comma-separated key-id:secret; the first signs, all verify.",
    )
    token_ttl_hours: float = 12.0
    session_cookie_secure: bool = Field(
        default=False,
        description="Mark console cookies Secure (sent over HTTPS only): set it wherever the "
        "consoles are served over HTTPS, as production should be.",
    )
    _registry: Callable[[], Registry] | None = PrivateAttr(default=None)
    _lists_mediators: bool = PrivateAttr(default=False)
    _cookie: str = PrivateAttr(default=COOKIE)
    _sessions: SessionCheck | None = PrivateAttr(default=None)

    def serve_consoles(self, service: str, sessions: SessionCheck | None = None) -> None:
        """Keep the console's token in the service's own cookie; with `sessions`, a token
        signed in by password also counts only while its account still lets it."""
        self._cookie = session_cookie(service)
        self._sessions = sessions

    @property
    def cookie(self) -> str:
        return self._cookie

    @property
    def ttl(self) -> timedelta:
        return timedelta(hours=self.token_ttl_hours)

    async def check_session(self, principal: "Principal") -> None:
        """401 for a sign-in whose account was disabled or its password reset since."""
        if principal.user is not None and self._sessions is not None:
            await self._sessions(principal)

    def recognise(self, registry: Callable[[], Registry], *, mediators: bool) -> None:
        """From now on a token counts only for a unit of `registry()` (the one in force at each
        request). With `mediators` — a service that follows the admins' mediator changes — a
        mediator's token also only for a mediator their unit lists."""
        self._registry = registry
        self._lists_mediators = mediators

    def check_known(self, principal: "Principal") -> None:
        """403 for a validly signed token whose unit or mediator the registry does not know:
        a signature proves who issued the token, not that its holder still serves there."""
        if self._registry is None:
            return
        registry = self._registry()
        unit_id = principal.unit_id
        if registry.unit(unit_id) is None:
            raise forbid(
                Refusal.UNKNOWN_UNIT, f"no unit {unit_id} in the registry", unit_id=unit_id
            )
        if self._lists_mediators and principal.role is Role.MEDIATOR:
            listed = registry.mediators.get(principal.subject)
            if listed is None or listed.unit_id != unit_id:
                raise forbid(
                    Refusal.MEDIATOR_NOT_LISTED,
                    f"{principal.subject} is not a mediator of {unit_id}",
                    mediator_id=principal.subject,
                    unit_id=unit_id,
                )

    def keys(self) -> dict[str, str]:
        pairs = (entry.strip().partition(":") for entry in self.auth_keys.split(","))
        return {key_id: secret for key_id, _, secret in pairs if key_id and secret}

    @property
    def signing_key_id(self) -> str:
        return next(iter(self.keys()))

    def secrets(self) -> list[Secret]:
        return [keyed_secrets("AUTH_KEYS", self.auth_keys, DEVELOPMENT_AUTH_KEYS)]


class Principal(BaseModel):
    subject: str
    role: Role
    unit_id: str = Field(pattern=UNIT_ID_PATTERN)
    token_id: str
    user: str | None = None
    """The account a person signed in with (a session); None for an issued token."""
    generation: int = 0
    """The account's password generation the session began under: a reset ends it."""

    def can_read_unit(self, unit_id: str) -> bool:
        """Supervisors read their subtree, mediators their own unit, admins everything."""
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.SUPERVISOR:
            return in_force().is_within(unit_id, self.unit_id)
        return self.role is Role.MEDIATOR and unit_id == self.unit_id

    def can_act_on_unit(self, unit_id: str) -> bool:
        """Only the unit's own mediators change its cases."""
        return self.role is Role.MEDIATOR and unit_id == self.unit_id


class AuthError(Exception):
    def __init__(self, code: Refusal, message: str) -> None:
        super().__init__(message)
        self.code = code


def issue_token(
    settings: AuthSettings,
    *,
    subject: str,
    role: Role,
    unit_id: str,
    ttl: timedelta | None = None,
    user: str | None = None,
    generation: int = 0,
) -> str:
    """`user` marks a session: the account the person signed in with (under its password's
    `generation`), checked on each use."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": subject,
        "role": role.value,
        "unit": unit_id,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + (ttl or settings.ttl),
    }
    if user is not None:
        claims["usr"], claims["gen"] = user, generation
    key_id = settings.signing_key_id
    return jwt.encode(claims, settings.keys()[key_id], algorithm="HS256", headers={"kid": key_id})


def _secret_for(settings: AuthSettings, token: str) -> str:
    try:
        key_id = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError as error:
        raise AuthError(Refusal.INVALID_TOKEN, f"invalid token: {error}") from error
    secret = settings.keys().get(str(key_id))
    if secret is None:
        raise AuthError(Refusal.UNKNOWN_KEY, f"unknown key id {key_id!r}")
    return secret


def verify_token(settings: AuthSettings, token: str) -> Principal:
    secret = _secret_for(settings, token)
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "jti"]},
        )
        return Principal(
            subject=claims["sub"],
            role=claims["role"],
            unit_id=claims["unit"],
            token_id=claims["jti"],
            user=claims.get("usr"),
            generation=claims.get("gen", 0),
        )
    except jwt.ExpiredSignatureError as error:
        raise AuthError(Refusal.TOKEN_EXPIRED, "token expired") from error
    except (jwt.InvalidTokenError, KeyError, ValueError) as error:
        raise AuthError(Refusal.INVALID_TOKEN, f"invalid token: {error}") from error


SAFE_METHODS = frozenset({"GET", "HEAD"})


def same_origin(request: Request) -> bool:
    """Sent by this service's own pages. The consoles share a host (and so a site) and differ
    by port, so SameSite alone would let one console's page post to another: the origin,
    port included, must be this one."""
    origin = request.headers.get("origin")
    if origin is not None:
        return urlsplit(origin).netloc == request.headers.get("host")
    return request.headers.get("sec-fetch-site") == "same-origin"


def token_of(request: Request, cookie: str | None = None) -> str | None:
    """The bearer token, else the console's `cookie` (when given): for reads, and for changes
    only from the console's own pages, so no form of another site or console can act."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if cookie and (request.method in SAFE_METHODS or same_origin(request)):
        return request.cookies.get(cookie) or None
    return None


def authenticate(settings: AuthSettings, token: str | None) -> Principal:
    if not token:
        raise _unauthorized(Refusal.MISSING_TOKEN, "missing bearer token")
    try:
        principal = verify_token(settings, token)
    except AuthError as error:
        raise _unauthorized(error.code, str(error)) from error
    settings.check_known(principal)
    return principal


def bearer(settings: AuthSettings) -> Any:
    """A FastAPI dependency giving the caller's Principal, or 401. `async` only so that FastAPI
    calls it on the event loop: a plain function would cost every request a thread hop."""

    async def dependency(request: Request) -> Principal:
        principal = authenticate(settings, token_of(request, settings.cookie))
        await settings.check_session(principal)
        return principal

    return Depends(dependency)


def console_caller(settings: AuthSettings) -> Any:
    """For a console page: a token in `?token=` (given once, then kept in a cookie) also counts,
    unless it is someone else's than the signed-in person's: then the page asks first."""

    async def dependency(request: Request) -> Principal:
        offered = request.query_params.get("token")
        if offered:
            ask_before_switching(settings, request.cookies.get(settings.cookie), offered)
        principal = authenticate(settings, offered or token_of(request, settings.cookie))
        await settings.check_session(principal)
        return principal

    return Depends(dependency)


def identity(principal: Principal) -> tuple[Role, str, str]:
    return principal.role, principal.subject, principal.unit_id


def describe(principal: Principal) -> str:
    return f"{principal.role.value} {principal.subject} of {principal.unit_id}"


class SwitchAsked(Refused):
    """A console link carries another person's token than the signed-in one's. Taking it at
    once would let anyone who sends a link sign the reader in as them (token fixation), so
    the reader is asked, and stays who they are unless they confirm."""

    def __init__(self, current: Principal, offered: Principal, token: str) -> None:
        super().__init__(
            status.HTTP_409_CONFLICT,
            Refusal.SWITCH_IDENTITY,
            f"signed in as {describe(current)}; the link is for {describe(offered)}",
            current=describe(current),
            offered=describe(offered),
        )
        self.current = current
        self.offered = offered
        self.token = token


def ask_before_switching(settings: AuthSettings, kept: str | None, offered: str) -> None:
    """SwitchAsked when `offered` is a valid token of another identity than the signed-in
    `kept` one; where nobody is signed in (no cookie, or one that no longer counts) nothing
    is lost by taking the link's."""
    if not kept or kept == offered:
        return
    try:
        current = authenticate(settings, kept)
    except Refused:
        return
    newcomer = authenticate(settings, offered)
    if identity(current) != identity(newcomer):
        raise SwitchAsked(current, newcomer, offered)


def keep_token(settings: AuthSettings, request: Request, response: Response) -> None:
    """Set the cookie when a page was opened with `?token=`, so later pages and streams have it."""
    token = request.query_params.get("token")
    if token:
        remember(settings, response, token)


def remember(settings: AuthSettings, response: Response, token: str) -> None:
    """The console's own cookie: never readable by scripts, never sent from another site,
    gone when a token would have expired anyway."""
    response.set_cookie(
        settings.cookie,
        token,
        max_age=int(settings.ttl.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=settings.session_cookie_secure,
    )


def forget(settings: AuthSettings, response: Response) -> None:
    response.delete_cookie(
        settings.cookie, httponly=True, samesite="strict", secure=settings.session_cookie_secure
    )


def _unauthorized(code: Refusal, reason: str) -> Refused:
    return Refused(
        status.HTTP_401_UNAUTHORIZED,
        code,
        reason,
        headers={"WWW-Authenticate": 'Bearer realm="tiaojie"'},
    )


def forbid(code: Refusal, reason: str, **params: Any) -> Refused:
    """403 naming why in English (`detail`) and as a code with parameters."""
    return Refused(status.HTTP_403_FORBIDDEN, code, reason, **params)


def require_read(principal: Principal, unit_id: str) -> None:
    if not principal.can_read_unit(unit_id):
        raise _outside(principal, unit_id, Refusal.READ_OUTSIDE_UNIT, "read unit")


def require_act(principal: Principal, unit_id: str) -> None:
    if not principal.can_act_on_unit(unit_id):
        raise _outside(principal, unit_id, Refusal.ACT_OUTSIDE_UNIT, "act on cases of")


def _outside(principal: Principal, unit_id: str, code: Refusal, doing: str) -> Refused:
    role, own = principal.role.value, principal.unit_id
    return forbid(
        code, f"{role} of {own} may not {doing} {unit_id}", role=role, unit_id=own, target=unit_id
    )


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        allowed = [role.value for role in roles]
        raise forbid(
            Refusal.ROLE_NOT_ALLOWED,
            f"role {principal.role.value} may not do this (allowed: {', '.join(allowed)})",
            role=principal.role.value,
            allowed_roles=allowed,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.auth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    issue = sub.add_parser("issue", help="print a signed token")
    issue.add_argument("--role", required=True, choices=[role.value for role in Role])
    issue.add_argument("--unit", required=True, help="jurisdiction unit id, e.g. hanyin-shuangru")
    issue.add_argument("--subject", required=True, help="who the token is for")
    issue.add_argument("--hours", type=float, default=None, help="lifetime (default from settings)")
    args = parser.parse_args(argv)
    ttl = timedelta(hours=args.hours) if args.hours else None
    print(
        issue_token(
            AuthSettings(), subject=args.subject, role=Role(args.role), unit_id=args.unit, ttl=ttl
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
