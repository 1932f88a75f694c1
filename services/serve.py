"""Run one service's app with uvicorn: `python -m <service>` calls this.

Before anything is served the service's secrets are checked (services/deployment.py). The HTTP
protocol is uvicorn's httptools one with two bounds it lacks: request line and headers over
`http_max_header_bytes` get 431 and are read no further (httptools would buffer a header of any
size), and a request not received within `http_request_timeout_s` is dropped, so a connection
that stalls half-way through a request (slowloris, a half-open peer) does not stay for ever.
"""

import asyncio
import http
import json
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from services.deployment import check_secrets
from services.errors import Refusal, refusal_body
from services.settings import ServiceSettings


def serve(create_app: Callable[[], FastAPI], settings: ServiceSettings) -> None:
    check_secrets(settings.service_name, settings.secrets())
    uvicorn.run(
        create_app(),
        host=settings.host,
        port=settings.port,
        http=bounded_http(settings.http_max_header_bytes, settings.http_request_timeout_s),
        timeout_keep_alive=settings.http_keep_alive_s,
        log_config=None,  # keep the structlog handler configured by the app
        access_log=False,
    )


def bounded_http(max_header_bytes: int, request_timeout_s: float) -> type[HttpToolsProtocol]:
    """The protocol class uvicorn instantiates per connection, with these bounds."""

    class Configured(BoundedHttpProtocol):
        pass

    Configured.max_header_bytes = max_header_bytes
    Configured.request_timeout_s = request_timeout_s
    return Configured


LINGER_S = 2.0
"""How long a refused connection stays open for its answer to be read."""


class BoundedHttpProtocol(HttpToolsProtocol):
    max_header_bytes = 8 * 1024
    request_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading_head = True
        """From the end of one request to the end of the next one's headers."""
        self._head_bytes = 0
        self._heads_read = 0
        self._request_timer: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_request_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_request_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # what the client still sends after its refusal is dropped unread
        if not self._reading_head:
            super().data_received(data)
            return
        self._start_request_timer()
        room = self.max_header_bytes - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        # The head must end within the room left: parse that much, and only go on if it did.
        heads_before = self._heads_read
        super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self._heads_read == heads_before:
            self._refuse(
                http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                Refusal.HEADERS_TOO_LARGE,
                f"request line and headers over {self.max_header_bytes} bytes",
                max_bytes=self.max_header_bytes,
            )
            return
        super().data_received(data[room:])

    def handle_websocket_upgrade(self) -> None:
        """A WebSocket lives by its own rules, not a request's time limit."""
        self._stop_request_timer()
        super().handle_websocket_upgrade()

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._heads_read += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._stop_request_timer()
        self._reading_head, self._head_bytes = True, 0
        super().on_message_complete()

    def _start_request_timer(self) -> None:
        if self._request_timer is None:
            self._request_timer = self.loop.call_later(self.request_timeout_s, self._timed_out)

    def _stop_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _timed_out(self) -> None:
        self._request_timer = None
        if not self._reading_head:
            # The app is reading the body: closing tells it the client is gone.
            self.transport.close()
            return
        self._refuse(
            http.HTTPStatus.REQUEST_TIMEOUT,
            Refusal.REQUEST_TIMEOUT,
            f"request not received within {self.request_timeout_s:g} s",
            timeout_s=self.request_timeout_s,
        )

    def _refuse(self, status: http.HTTPStatus, code: Refusal, message: str, **params: Any) -> None:
        """Answer, then close once the client has had the answer. Closing at once with the
        client's bytes unread would reset the connection, and a reset can destroy the answer
        before the client reads it: so stop writing, drop what still comes, and close after
        LINGER_S (or when the client does). An earlier response still being written on this
        connection (a pipelined request) cannot be followed by ours: then just close."""
        self._stop_request_timer()
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()
            return
        self._refused = True
        self.transport.write(_response(status, refusal_body(code, message, **params)))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._request_timer = self.loop.call_later(LINGER_S, self.transport.close)


def _response(status: http.HTTPStatus, body: dict[str, Any]) -> bytes:
    content = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(content)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + content
