"""Checks on the raw request body, before any model sees it: size, text MongoDB cannot store
(lone surrogates), control characters and MongoDB operator-like keys. Pure ASGI middleware so
an oversized body is never read whole.

Every key and string of the parsed body is checked here, whatever the channel, so a report is
refused with 422 naming the field before its 202, never acknowledged and then not storable."""

import json
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.errors import FieldProblem, field_error
from services.http import read_limited, replaying

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""C0 and C1 controls except tab, line feed and carriage return."""
SURROGATE = re.compile(r"[\ud800-\udfff]")
"""A code point JSON's `\\ud800` escapes (or undecodable form bytes) leave in a str: not
encodable as UTF-8, so no BSON string holds it. Pairs are joined by the JSON parser."""

FieldError = dict[str, Any]
ErrorRenderer = Callable[[int, list[FieldError]], JSONResponse]
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


def text_problem(text: str) -> str | None:
    issue = text_issue(text)
    return None if issue is None else issue[1]


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


def json_problems(value: Any, path: tuple[str, ...] = ()) -> list[FieldError]:
    """Every offending key or string in a parsed JSON document, named by its dotted path."""
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
        return [field_error("body", FieldProblem.NESTED_TOO_DEEPLY, "nested too deeply")]
    return json_problems(document)


def invalid_request(status: int, fields: list[FieldError]) -> JSONResponse:
    error = "payload_too_large" if status == 413 else "invalid_request"
    return JSONResponse(status_code=status, content={"error": error, "fields": fields})


class BodyGuard:
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

    def _render(self, path: str, status: int, fields: list[FieldError]) -> JSONResponse:
        for prefix, render in self._renderers.items():
            if path.startswith(prefix):
                return render(status, fields)
        return invalid_request(status, fields)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self._app(scope, receive, send)
            return
        message = f"body is over {self._max} bytes"
        too_large = [field_error("body", FieldProblem.BODY_TOO_LARGE, message, max_bytes=self._max)]
        try:
            body = await read_limited(scope, receive, self._max)
        except ClientDisconnect:
            return
        if body is None:
            await self._render(scope["path"], 413, too_large)(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if "form" not in content_type and (problems := inspect_json(body)):
            await self._render(scope["path"], 422, problems)(scope, receive, send)
            return
        await self._app(scope, replaying(body, receive), send)
