"""The admins' users console: every account, a form to create one (a mediator tied to a
mediator their unit lists, chosen from the lists in force), a password reset and a disable
button per account. The forms post here, from this console's own pages only."""

import re
from pathlib import Path as FilePath
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from contracts.ids import UNIT_ID_PATTERN
from router.users import Problems, UserAdmin, UserIn
from services.accounts import USER_NAME_PATTERN
from services.auth import AuthSettings, Principal, Role, console_caller, keep_token, require_role
from services.http import field_errors
from services.jurisdiction import Jurisdiction
from services.web.render import Pages
from services.web.signin import form_fields
from services.web.switch import require_same_origin, switch_router
from services.web.unit_picker import unit_picker_router

USERS_PATH = "/console/users"
DONE = ("created", "password_reset", "was_disabled", "was_enabled")


def create_console(
    admin: UserAdmin, jurisdiction: Jurisdiction, auth: AuthSettings
) -> tuple[APIRouter, Pages]:
    pages = Pages(FilePath(__file__).with_name("templates"), console="admin")
    router = APIRouter(include_in_schema=False)
    router.include_router(switch_router(auth))
    router.include_router(unit_picker_router(auth, lambda: jurisdiction.current))
    Admin = Annotated[Principal, console_caller(auth)]  # noqa: N806

    @router.get("/console/units/{unit_id}/mediators")
    async def mediators_of(
        unit_id: Annotated[str, Path(pattern=UNIT_ID_PATTERN, max_length=80)], caller: Admin
    ) -> list[dict[str, str]]:
        """The mediators the form offers once a unit is picked: that unit's only, never every
        mediator of the jurisdiction."""
        require_role(caller, Role.ADMIN)
        return [{"id": m.id, "name": m.name} for m in jurisdiction.current.mediators_of(unit_id)]

    async def page(
        request: Request,
        *,
        status_code: int = 200,
        problems: Problems | None = None,
        form: dict[str, str] | None = None,
    ) -> HTMLResponse:
        registry = jurisdiction.current
        chosen = registry.unit((form or {}).get("unit_id", "")) or registry.top
        done, done_user = request.query_params.get("done", ""), request.query_params.get("user", "")
        if done not in DONE or not re.match(USER_NAME_PATTERN, done_user):
            done = done_user = ""  # a link cannot make the page say just anything
        rendered = pages.render(
            request,
            "users.html",
            status_code=status_code,
            users=await admin.accounts.store.all(),
            roles=list(Role),
            unit=chosen,
            mediators=registry.mediators_of(chosen.id),
            problems={problem["field"]: problem for problem in problems or []},
            form=form or {},
            done=done,
            done_user=done_user,
        )
        keep_token(auth, request, rendered)
        return rendered

    def done(what: str, user_name: str) -> Response:
        query = urlencode({"done": what, "user": user_name})
        return RedirectResponse(f"{USERS_PATH}?{query}", status_code=status.HTTP_303_SEE_OTHER)

    @router.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse(USERS_PATH, status_code=status.HTTP_303_SEE_OTHER)

    @router.get(USERS_PATH, response_class=HTMLResponse)
    async def users(request: Request, caller: Admin) -> HTMLResponse:
        require_role(caller, Role.ADMIN)
        return await page(request)

    @router.post(USERS_PATH)
    async def create_user(request: Request, caller: Admin) -> Response:
        require_same_origin(request)
        require_role(caller, Role.ADMIN)
        form = form_fields(await request.body())
        try:
            body = UserIn.model_validate(form)
        except ValidationError as error:
            problems = field_errors(error.errors())
            return await page(request, status_code=422, problems=problems, form=form)
        created = await admin.create(caller, body)
        if isinstance(created, list):
            return await page(request, status_code=422, problems=created, form=form)
        return done("created", created.user_name)

    @router.post(USERS_PATH + "/{user_name}/password")
    async def reset_password(request: Request, user_name: str, caller: Admin) -> Response:
        require_same_origin(request)
        require_role(caller, Role.ADMIN)
        password = form_fields(await request.body()).get("password", "")
        problems = await admin.reset_password(caller, user_name, password)
        if problems:
            problems = [{**problem, "field": f"password-{user_name}"} for problem in problems]
            return await page(request, status_code=422, problems=problems)
        return done("password_reset", user_name)

    @router.post(USERS_PATH + "/{user_name}/disable")
    async def disable(request: Request, user_name: str, caller: Admin) -> Response:
        require_same_origin(request)
        require_role(caller, Role.ADMIN)
        await admin.disable(caller, user_name)
        return done("was_disabled", user_name)

    @router.post(USERS_PATH + "/{user_name}/enable")
    async def enable(request: Request, user_name: str, caller: Admin) -> Response:
        require_same_origin(request)
        require_role(caller, Role.ADMIN)
        await admin.enable(caller, user_name)
        return done("was_enabled", user_name)

    return router, pages
