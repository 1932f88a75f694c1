"""The HTTP face every service shares: the app factory, /healthz and clear 422 messages."""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HealthCheck = Callable[[], Awaitable[bool]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """One entry per field, named by its dotted path inside the body."""
    result = []
    for error in errors:
        if error.get("type") == "json_invalid":  # its location is a character offset
            result.append({"field": "body", "message": f"malformed JSON: {error.get('msg')}"})
            continue
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        result.append({"field": ".".join(location) or "body", "message": str(error.get("msg"))})
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
        body = {"error": "payload_too_large", "message": f"body over {self.max_bytes} bytes"}
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
