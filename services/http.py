"""The HTTP face every service shares: the app factory, /healthz and clear 422 messages.

Every refusal carries a stable code and its parameters (services/errors.py) beside the English,
so a console can word it in its own language."""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.errors import Refusal, Refused, field_error, refusal_body

HealthCheck = Callable[[], Awaitable[bool]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """One entry per field, named by its dotted path inside the body, with pydantic's error
    type as its code and the error's context as its parameters (never the input: it may be a
    phone number)."""
    result = []
    for error in errors:
        code, params = str(error.get("type")), error.get("ctx") or {}
        if code == "json_invalid":  # its location is a character offset
            message = f"malformed JSON: {error.get('msg')}"
            result.append(field_error("body", code, message, **params))
            continue
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        field = ".".join(location) or "body"
        result.append(field_error(field, code, str(error.get("msg")), **params))
    return result


def unprocessable(
    fields: Sequence[tuple[str, str]], error: str = "invalid_request"
) -> JSONResponse:
    """A 422 in the shape every body check answers with: one entry per (field, message)."""
    return JSONResponse(
        status_code=422,
        content={"error": error, "fields": [{"field": f, "message": m} for f, m in fields]},
    )


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse(
        status_code=422,
        content={"error": "invalid_request", "fields": field_errors(error.errors())},
    )


async def _http_error(request: Request, error: Exception) -> Response:
    """A console page's refusal as a page in the reader's language; every other one as JSON,
    FastAPI's `{"detail": ...}` plus the code and parameters when the refusal names them."""
    assert isinstance(error, StarletteHTTPException)
    render_page = getattr(request.app.state, "refusal_page", None)
    if render_page is not None and _wants_page(request):
        page: Response = render_page(request, error)
        return page
    if isinstance(error, Refused):
        return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)
    return await http_exception_handler(request, error)


def _wants_page(request: Request) -> bool:
    api = request.url.path.startswith(("/v1/", "/open311/"))
    return request.method == "GET" and not api and "text/html" in request.headers.get("accept", "")


def health_router(checks: dict[str, HealthCheck]) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", tags=["health"])
    async def healthz() -> JSONResponse:
        results = {name: await check() for name, check in checks.items()}
        healthy = all(results.values())
        return JSONResponse(
            status_code=200 if healthy else 503,
            content={"status": "ok" if healthy else "degraded", "checks": results},
        )

    return router


def catalogue_router(broker: KafkaBroker, title: str) -> APIRouter:
    """The service's event catalogue: what it consumes and publishes, from `contracts/`."""
    router = APIRouter()

    @router.get("/asyncapi.json", tags=["catalogue"])
    async def asyncapi() -> JSONResponse:
        specification = AsyncAPI(broker, title=title, version="1").to_specification()
        return JSONResponse(specification.to_jsonable())

    return router


DEFAULT_MAX_BODY_BYTES = 64 * 1024


class BodyLimit:
    """413 for a body over `max_bytes`, read no further than the limit; the body (small by
    then) is handed on whole."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        try:
            body = await read_limited(scope, receive, self.max_bytes)
        except ClientDisconnect:
            return
        if body is None:
            await self._refuse(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"body over {self.max_bytes} bytes"
        body = refusal_body(Refusal.PAYLOAD_TOO_LARGE, message, max_bytes=self.max_bytes)
        await JSONResponse(status_code=413, content=body)(scope, receive, send)


async def read_limited(scope: Scope, receive: Receive, max_bytes: int) -> bytes | None:
    """The whole request body, or None as soon as it is known to be over `max_bytes`
    (declared or read): an oversized body is never read whole."""
    declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
    if declared.isdigit() and int(declared) > max_bytes:
        return None
    body = bytearray()
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        body.extend(message.get("body", b""))
        more = message.get("more_body", False)
        if len(body) > max_bytes:
            return None
    return bytes(body)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the already-read body to the app, then defers to the client."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def create_service_app(
    *,
    title: str,
    broker: KafkaBroker,
    routers: Sequence[APIRouter],
    checks: dict[str, HealthCheck],
    lifespan: Lifespan | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    app = FastAPI(title=title, lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.state.broker = broker
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(health_router(checks))
    app.include_router(catalogue_router(broker, title))
    for router in routers:
        app.include_router(router)
    return app


def chain_lifespans(*steps: Callable[[], AbstractAsyncContextManager[None]]) -> Lifespan:
    """Enter the steps in order and leave them in reverse, as one FastAPI lifespan."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for step in steps:
                await stack.enter_async_context(step())
            yield

    return lifespan
