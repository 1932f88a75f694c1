"""Server-rendered pages: each service's templates over the shared layout, every string through
the translation table, every asset served by the service itself (no CDN, nothing fetched)."""

from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.requests import Request

from services.web.i18n import Translator, pick_language

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

    def mount_static(self, app: FastAPI) -> None:
        app.mount(STATIC_PATH, StaticFiles(directory=SHARED / "static"), name="console-static")

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
            **context,
        )
        response = HTMLResponse(html, status_code=status_code)
        if request.query_params.get("lang") == language:
            response.set_cookie("lang", language, max_age=365 * 24 * 3600, samesite="lax")
        return response
