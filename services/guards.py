"""Checks on what a request carries before any handler sees it, in every service: the body's
size, text no database should store (lone surrogates, control characters), MongoDB
operator-like keys and nesting depth, and the same text checks on path ids and query
parameters. Pure ASGI middleware, so an oversized body is never read whole.

Every key and string is checked here, whatever the endpoint and whatever the content type says,
so a request is refused with a 4xx naming the field before anything is recorded, held or
acknowledged."""

import json
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.errors import FieldProblem, field_error

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""C0 and C1 controls except tab, line feed and carriage return."""
SURROGATE = re.compile(r"[\ud800-\udfff]")
"""A code point JSON's `\\ud800` escapes (or undecodable form bytes) leave in a str: not
encodable as UTF-8, so no BSON string holds it. Pairs are joined by the JSON parser."""

FieldError = dict[str, Any]
ErrorRenderer = Callable[[int, list[FieldError], str], Response]
"""Answers a refusal (status, fields, request path) in an API's own error shape."""
Issue = tuple[FieldProblem, str, dict[str, Any]]
"""A problem's code, its English and its parameters."""


def text_issue(text: str) -> Issue | None:
    if surrogate := SURROGATE.search(text):
        codepoint = f"U+{ord(surrogate.group(0)):04X}"
        message = f"lone surrogate {codepoint} is not text that can be stored"
        return FieldProblem.LONE_SURROGATE, message, {"codepoint": codepoint}
    found = CONTROL.search(text)
    if found is None:
        return None
    codepoint = f"U+{ord(found.group(0)):04X}"
    message = f"control character {codepoint} not allowed"
    return FieldProblem.CONTROL_CHARACTER, message, {"codepoint": codepoint}


def key_issue(key: str) -> Issue | None:
    if key.startswith("$") or "." in key:
        return FieldProblem.FORBIDDEN_KEY, "keys may not start with '$' or contain '.'", {}
    return text_issue(key)


def key_problem(key: str) -> str | None:
    issue = key_issue(key)
    return None if issue is None else issue[1]


def field_name(name: str) -> str:
    """A field's name as the answer can carry it: a key holding a lone surrogate is written
    with the escape the client sent (`\\ud800`), since the answer itself must be UTF-8."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _named(field: str, issue: Issue) -> FieldError:
    code, message, params = issue
    return field_error(field_name(field), code, message, **params)


MAX_DEPTH = 32
"""Far deeper than any report; a deeper body is refused before anything walks it down."""


class _TooDeepError(Exception):
    pass


def json_problems(value: Any, path: tuple[str, ...] = ()) -> list[FieldError]:
    """Every offending key or string in a parsed JSON document, named by its dotted path."""
    if len(path) >= MAX_DEPTH:
        raise _TooDeepError
    if isinstance(value, dict):
        problems = []
        for key, item in value.items():
            if issue := key_issue(key):
                problems.append(_named(".".join((*path, key)), issue))
            problems.extend(json_problems(item, (*path, key)))
        return problems
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in json_problems(item, (*path, str(i)))]
    if isinstance(value, str) and (issue := text_issue(value)):
        return [_named(".".join(path) or "body", issue)]
    return []


def inspect_json(body: bytes) -> list[FieldError]:
    """Problems in a JSON body; a body that is not JSON is left for the endpoint to refuse."""
    try:
        document = json.loads(body)
    except UnicodeDecodeError:  # JSON is UTF-8 (RFC 8259); pydantic's code for bad JSON
        return [field_error("body", "json_invalid", "JSON text must be UTF-8")]
    except ValueError:
        return []
    except RecursionError:
        return [_too_deep()]
    try:
        return json_problems(document)
    except _TooDeepError:
        return [_too_deep()]


def _too_deep() -> FieldError:
    message = f"nested more than {MAX_DEPTH} levels deep"
    return field_error("body", FieldProblem.NESTED_TOO_DEEPLY, message, max_depth=MAX_DEPTH)


def invalid_request(status: int, fields: list[FieldError]) -> JSONResponse:
    error = "payload_too_large" if status == 413 else "invalid_request"
    return JSONResponse(status_code=status, content={"error": error, "fields": fields})


def inspect_form(body: bytes) -> list[FieldError]:
    """Problems in a form-encoded body's names and values. Escaped bytes that are not UTF-8
    stay as lone surrogates, which the text check names."""
    text = body.decode("utf-8", "surrogateescape")
    return _pairs_problems(parse_qsl(text, keep_blank_values=True, errors="surrogateescape"))


def _pairs_problems(pairs: Sequence[tuple[str, str]]) -> list[FieldError]:
    return [
        _named(name, issue)
        for name, value in pairs
        if (issue := text_issue(name) or text_issue(value))
    ]


async def plain_request_line(request: Request) -> None:
    """Refuses control characters in path ids and query parameters, named as the endpoint
    names them (`path.case_id`, `query.mediator_id`): an app-wide dependency, since only
    the matched route knows its parameters' names."""
    places = {"path": request.path_params.items(), "query": request.query_params.multi_items()}
    errors = [
        {"type": issue[0].value, "loc": (place, name), "msg": issue[1], "ctx": issue[2]}
        for place, pairs in places.items()
        for name, value in pairs
        if (issue := text_issue(str(name)) or text_issue(str(value)))
    ]
    if errors:
        raise RequestValidationError(errors)


FORM_TYPE = "application/x-www-form-urlencoded"


def renderer_for(renderers: dict[str, ErrorRenderer], path: str) -> ErrorRenderer | None:
    """The renderer of the first prefix `path` starts with, if any."""
    return next((r for prefix, r in renderers.items() if path.startswith(prefix)), None)


class InputGuard:
    """Refuses what no endpoint should see; `renderers` answer in an API's own error shape
    (GeoReport's under /open311/), by path prefix."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        renderers: dict[str, ErrorRenderer] | None = None,
    ) -> None:
        self._app = app
        self._max = max_bytes
        self._renderers = renderers or {}

    def _render(self, path: str, status: int, fields: list[FieldError]) -> Response:
        render = renderer_for(self._renderers, path)
        return invalid_request(status, fields) if render is None else render(status, fields, path)

    def _too_large(self) -> FieldError:
        message = f"body is over {self._max} bytes"
        return field_error("body", FieldProblem.BODY_TOO_LARGE, message, max_bytes=self._max)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self._app(scope, receive, send)
            return
        try:
            body = await read_limited(scope, receive, self._max)
        except ClientDisconnect:
            return
        if body is None:
            await self._render(scope["path"], 413, [self._too_large()])(scope, receive, send)
            return
        if problems := inspect_body(body, _media_type(scope)):
            await self._render(scope["path"], 422, problems)(scope, receive, send)
            return
        await self._app(scope, replaying(body, receive), send)


def inspect_body(body: bytes, media_type: str) -> list[FieldError]:
    """A form's pairs when it says it is a form; and whatever parses as JSON, as JSON, since
    parameters or a wrong type must not let a JSON body past the checks."""
    problems = inspect_form(body) if media_type == FORM_TYPE else []
    return problems or inspect_json(body)


def _media_type(scope: Scope) -> str:
    headers = dict(scope.get("headers") or [])
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    media_type: str = content_type.split(";", 1)[0].strip().lower()
    return media_type


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
