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

from services.auth import Principal, SwitchAsked, describe
from services.errors import Refused
from services.web.county_time import county_zone, input_value, shown
from services.web.i18n import Translator, pick_language
from services.web.switch import SWITCH_PATH, without_token

SHARED = Path(__file__).parent
STATIC_PATH = "/static/console"


class ConsoleLinks(BaseSettings):
    """Where the browser finds each console and API; defaults match `make up`."""

    model_config = SettingsConfigDict(extra="ignore")

    intake_url: str = "http://127.0.0.1:8081"
    router_url: str = "http://127.0.0.1:8082"
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
        # Every time shown or pre-filled is the county's wall clock (TIAOJIE_TIME_ZONE).
        self.zone = county_zone()
        self._env.filters["local"] = lambda value: shown(value, self.zone)
        self._env.filters["local_input"] = lambda value: input_value(value, self.zone)

    def install(self, app: FastAPI) -> None:
        """The shared assets, and refusals of the console's pages shown as pages."""
        app.mount(STATIC_PATH, StaticFiles(directory=SHARED / "static"), name="console-static")
        app.state.refusal_page = self.refusal_page

    def refusal_page(self, request: Request, error: HTTPException) -> HTMLResponse:
        """Why a page was refused (no token, outside the jurisdiction...), in the reader's
        language. A refusal without a code of its own (a page that does not exist) is worded
        by its status, else shows the server's English."""
        if isinstance(error, SwitchAsked):
            return self.switch_page(request, error)
        coded = error if isinstance(error, Refused) else None
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

    def render(
        self, request: Request, template: str, *, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        language = pick_language(request)
        html = self._env.get_template(template).render(
            t=Translator(language),
            lang=language,
            console=self._console,
            links=self.links,
            static=STATIC_PATH,
            path=request.url.path,
            time_zone=self.zone.key,
            **context,
        )
        response = HTMLResponse(html, status_code=status_code)
        if request.query_params.get("lang") == language:
            response.set_cookie("lang", language, max_age=365 * 24 * 3600, samesite="lax")
        return response
