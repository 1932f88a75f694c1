"""The HTTP face every service shares: the app factory, /healthz and clear 422 messages.

Every refusal carries a stable code and its parameters (services/errors.py) beside the English,
so a console can word it in its own language."""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.errors import Refused, field_error
from services.guards import ErrorRenderer, InputGuard, plain_request_line, renderer_for

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


def _api_renderer(request: Request) -> ErrorRenderer | None:
    """The error shape of the API the request is for (GeoReport's under /open311/), if its own."""
    renderers: dict[str, ErrorRenderer] = getattr(request.app.state, "error_renderers", {})
    return renderer_for(renderers, request.url.path)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    fields = field_errors(error.errors())
    if (render := _api_renderer(request)) is not None:
        return render(422, fields, request.url.path)
    return JSONResponse(status_code=422, content={"error": "invalid_request", "fields": fields})


async def _http_error(request: Request, error: Exception) -> Response:
    """A console page's refusal as a page in the reader's language; every other one as JSON,
    FastAPI's `{"detail": ...}` plus the code and parameters when the refusal names them."""
    assert isinstance(error, StarletteHTTPException)
    render_page = getattr(request.app.state, "refusal_page", None)
    if render_page is not None and _wants_page(request):
        page: Response = render_page(request, error)
        return page
    if (render := _api_renderer(request)) is not None:
        answer = render(error.status_code, [{"message": str(error.detail)}], request.url.path)
        answer.headers.update(error.headers or {})
        return answer
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


def create_service_app(
    *,
    title: str,
    broker: KafkaBroker,
    routers: Sequence[APIRouter],
    checks: dict[str, HealthCheck],
    lifespan: Lifespan | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    error_renderers: dict[str, ErrorRenderer] | None = None,
) -> FastAPI:
    app = FastAPI(title=title, lifespan=lifespan, dependencies=[Depends(plain_request_line)])
    app.add_middleware(InputGuard, max_bytes=max_body_bytes, renderers=error_renderers)
    app.state.broker = broker
    app.state.error_renderers = error_renderers or {}
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
