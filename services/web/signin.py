"""Signing in with a user name and password, and out, on every console: the session is a token
kept in the console's own cookie (HttpOnly, SameSite=Strict, expiring with the token).

Both forms are accepted from the console's own pages only (login CSRF); failed sign-ins are
limited per user name and per address, and all say the same thing."""

import math
from collections.abc import Callable
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.accounts import WRONG_CREDENTIALS, Accounts
from services.auth import forget, remember
from services.errors import Refusal
from services.ratelimit import RateLimiter
from services.web.switch import local_path, require_same_origin

SIGNIN_PATH = "/console/signin"
SIGNOUT_PATH = "/console/signout"
MAX_FORM_FIELD = 1024

SignInPage = Callable[..., HTMLResponse]
"""(request, next=..., status_code=..., code=..., params=..., user_name=...) → the page."""


def form_fields(body: bytes) -> dict[str, str]:
    """A urlencoded form's first value per field, each cut to a sane length."""
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0][:MAX_FORM_FIELD] for name, values in fields.items() if values}


class SignInLimits:
    """Failed sign-ins per user name (guessing one person's password) and per address
    (trying many names); a sign-in with the right password is never held up."""

    def __init__(self, accounts: Accounts) -> None:
        settings = accounts.settings
        self._names = RateLimiter(settings.user_rate_per_s, settings.user_burst)
        self._addresses = RateLimiter(settings.address_rate_per_s, settings.address_burst)

    def wait_s(self, user_name: str, address: str) -> int:
        waiting = max(self._names.waiting(user_name), self._addresses.waiting(address))
        return math.ceil(waiting) if waiting > 0 else 0

    def failed(self, user_name: str, address: str) -> None:
        self._names.check(user_name)
        self._addresses.check(address)


def signin_router(accounts: Accounts, page: SignInPage) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    limits = SignInLimits(accounts)
    auth = accounts.auth

    @router.get(SIGNIN_PATH, response_class=HTMLResponse)
    async def signin_form(request: Request) -> HTMLResponse:
        return page(request, next=local_path(request.query_params.get("next", "/")))

    @router.post(SIGNIN_PATH)
    async def signin(request: Request) -> Response:
        require_same_origin(request)
        form = form_fields(await request.body())
        user_name, target = form.get("user_name", "").strip(), local_path(form.get("next", "/"))
        address = request.client.host if request.client else "unknown"
        wait_s = limits.wait_s(user_name, address)
        if wait_s:
            refused = page(
                request,
                next=target,
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                code=Refusal.TOO_MANY_REQUESTS.value,
                params={"retry_after_s": wait_s},
                user_name=user_name,
            )
            refused.headers["Retry-After"] = str(wait_s)
            return refused
        token = await accounts.sign_in(user_name, form.get("password", ""))
        if token is None:
            limits.failed(user_name, address)
            return page(
                request,
                next=target,
                status_code=status.HTTP_401_UNAUTHORIZED,
                code=Refusal.WRONG_CREDENTIALS.value,
                detail=WRONG_CREDENTIALS,
                user_name=user_name,
            )
        answer = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
        remember(auth, answer, token)
        return answer

    @router.post(SIGNOUT_PATH)
    async def signout(request: Request) -> Response:
        require_same_origin(request)
        answer = RedirectResponse(SIGNIN_PATH, status_code=status.HTTP_303_SEE_OTHER)
        forget(auth, answer)
        return answer

    return router
