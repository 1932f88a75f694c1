"""Signing in as someone else from a console link, once the reader has confirmed it: the
confirmation page (`SwitchAsked`) posts here, from the console's own origin only."""

from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response

from services.auth import AuthSettings, authenticate, forbid, remember, same_origin
from services.errors import Refusal

SWITCH_PATH = "/console/switch"


def without_token(request: Request) -> str:
    """The page's own path and query, less the token: where to go on either answer."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def local_path(target: str) -> str:
    """Only a path of this console: never another site (`//host`, `/\\host`, `https://`)."""
    parts = urlsplit(target)
    is_local = target.startswith("/") and not target.startswith(("//", "/\\"))
    return target if is_local and not parts.scheme and not parts.netloc else "/"


def require_same_origin(request: Request) -> None:
    """A cross-site form could otherwise sign the reader in as its author (login CSRF)."""
    if not same_origin(request):
        raise forbid(
            Refusal.CROSS_SITE, "only this console's own pages may switch who is signed in"
        )


def switch_router(auth: AuthSettings) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post(SWITCH_PATH)
    async def switch(request: Request) -> Response:
        require_same_origin(request)
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = form.get("token", [""])[0]
        authenticate(auth, token)  # a token that does not count is refused, not kept
        answer = RedirectResponse(
            local_path(form.get("next", ["/"])[0]), status_code=status.HTTP_303_SEE_OTHER
        )
        remember(auth, answer, token)
        return answer

    return router
