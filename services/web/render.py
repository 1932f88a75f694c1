"""Server-rendered pages: each service's templates over the shared layout, every string through
the translation table, every asset served by the service itself (no CDN, nothing fetched)."""

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.exceptions import HTTPException
from starlette.requests import Request

from contracts.registry import in_force
from services.accounts import Accounts
from services.auth import (
    AuthSettings,
    Principal,
    Role,
    SwitchAsked,
    authenticate,
    describe,
    token_of,
)
from services.errors import Refusal, Refused
from services.web.county_time import county_zone, input_value, shown
from services.web.i18n import Translator, pick_language
from services.web.signin import SIGNIN_PATH, SIGNOUT_PATH, signin_router
from services.web.switch import SWITCH_PATH, without_token

SHARED = Path(__file__).parent
STATIC_PATH = "/static/console"


class ConsoleLinks(BaseSettings):
    """Where the browser finds each console and API; defaults match `make up`."""

    model_config = SettingsConfigDict(extra="ignore")

    intake_url: str = "http://127.0.0.1:8081"
    router_url: str = "http://127.0.0.1:8082"
    """Also the admins' users console."""
    mediation_url: str = "http://127.0.0.1:8083"
    notifier_url: str = "http://127.0.0.1:8084"


class Pages:
    def __init__(self, templates: Path, console: str, links: ConsoleLinks | None = None) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(
                [jinja2.FileSystemLoader(templates), jinja2.FileSystemLoader(SHARED / "templates")]
            ),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self._console = console
        self.links = links or ConsoleLinks()
        self._auth: AuthSettings | None = None
        # Every time shown or pre-filled is the county's wall clock (TIAOJIE_TIME_ZONE).
        self.zone = county_zone()
        self._env.filters["local"] = lambda value: shown(value, self.zone)
        self._env.filters["local_input"] = lambda value: input_value(value, self.zone)

    def install(self, app: FastAPI, accounts: Accounts) -> None:
        """The shared assets, signing in and out, and refusals of the console's pages shown
        as pages."""
        self._auth = accounts.auth
        app.mount(STATIC_PATH, StaticFiles(directory=SHARED / "static"), name="console-static")
        app.include_router(signin_router(accounts, self.signin_page))
        app.state.refusal_page = self.refusal_page

    def refusal_page(self, request: Request, error: HTTPException) -> HTMLResponse:
        """Why a page was refused (outside the jurisdiction...), in the reader's language.
        Nobody signed in (or a session that ended) gets the sign-in page, also for a page
        that does not exist: a stranger learns nothing of the console's paths. A refusal
        without a code of its own is worded by its status, else shows the server's English."""
        if isinstance(error, SwitchAsked):
            return self.switch_page(request, error)
        coded = error if isinstance(error, Refused) else None
        if error.status_code == 401 or (error.status_code == 404 and not self._signed_in(request)):
            # Nobody signed in needs no reason; a session that ended or expired does.
            code = coded.code.value if coded and error.status_code == 401 else None
            code = None if code == Refusal.MISSING_TOKEN else code
            params = coded.params if coded and code else {}
            page = self.signin_page(
                request, next=without_token(request), status_code=401, code=code, params=params
            )
            if error.status_code == 401:
                page.headers.update(error.headers or {})
            return page
        page = self.render(
            request,
            "refused.html",
            status_code=error.status_code,
            code=coded.code.value if coded else f"http_{error.status_code}",
            params=coded.params if coded else {},
            detail=str(error.detail),
        )
        page.headers.update(error.headers or {})
        return page

    def switch_page(self, request: Request, asked: SwitchAsked) -> HTMLResponse:
        """A question, not a refusal (200): sign in as the link's person, or stay. The language
        toggle keeps the link's token, so the question is asked again in the other language."""
        translate = Translator(pick_language(request))

        def who(principal: Principal) -> str:
            role = translate.label("role", principal.role.value)
            return f"{role} {principal.subject}（{principal.unit_id}）"

        toggle = {**request.query_params, "lang": translate.other_language}
        return self.render(
            request,
            "switch.html",
            current=who(asked.current),
            offered=who(asked.offered),
            current_id=describe(asked.current),
            offered_id=describe(asked.offered),
            token=asked.token,
            next=without_token(request),
            switch_path=SWITCH_PATH,
            lang_href=f"?{urlencode(toggle)}",
        )

    def signin_page(
        self,
        request: Request,
        *,
        next: str,  # noqa: A002 (the parameter's name in the form and the URL)
        status_code: int = 200,
        code: str | None = None,
        params: dict[str, Any] | None = None,
        detail: str = "",
        user_name: str = "",
    ) -> HTMLResponse:
        """The sign-in form; after a failure, why (by code), the user name kept. The
        language toggle keeps where the person was going."""
        translate = Translator(pick_language(request))
        toggle = {"next": next, "lang": translate.other_language}
        return self.render(
            request,
            "signin.html",
            status_code=status_code,
            next=next,
            code=code or "",
            params=params or {},
            detail=detail,
            user_name=user_name,
            signin_path=SIGNIN_PATH,
            lang_href=f"{SIGNIN_PATH}?{urlencode(toggle)}",
            who=None,  # whoever a refused cookie names is not signed in here
        )

    def _signed_in(self, request: Request) -> bool:
        return self._caller(request, self._token(request, link=False)) is not None

    def _token(self, request: Request, *, link: bool) -> str | None:
        """The token the page is served for: a link's (`link`), else the cookie's or bearer."""
        if self._auth is None:
            return None
        offered = request.query_params.get("token") if link else None
        return offered or token_of(request, self._auth.cookie)

    def _caller(self, request: Request, token: str | None) -> Principal | None:
        """Who a valid token names (whether their account still lets them is checked where
        a page is served, not here)."""
        if self._auth is None or not token:
            return None
        try:
            return authenticate(self._auth, token)
        except HTTPException:
            return None

    def render(
        self, request: Request, template: str, *, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        language = pick_language(request)
        # The question whether to switch is asked of the person the cookie names.
        token = self._token(request, link=template != "switch.html")
        caller = self._caller(request, token)
        translate = Translator(language)
        who = None
        if caller is not None:
            role = translate.label("role", caller.role.value)
            who = {"label": f"{person_name(caller)}（{role}）", "identity": describe(caller)}
        signed_in = self._auth is not None and self._auth.cookie in request.cookies
        html = self._env.get_template(template).render(
            t=translate,
            lang=language,
            console=self._console,
            links=self.links,
            static=STATIC_PATH,
            path=request.url.path,
            signout_path=SIGNOUT_PATH,
            time_zone=self.zone.key,
            **{"signed_in": signed_in, "who": who, **context},  # a page may say otherwise
        )
        response = HTMLResponse(html, status_code=status_code)
        if request.query_params.get("lang") == language:
            response.set_cookie("lang", language, max_age=365 * 24 * 3600, samesite="lax")
        return response


def person_name(caller: Principal) -> str:
    """A mediator by the name their unit lists, anyone else by their account's user name."""
    mediator = in_force().mediators.get(caller.subject) if caller.role is Role.MEDIATOR else None
    return mediator.name if mediator else caller.user or caller.subject
