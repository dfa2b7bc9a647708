"""uvicorn's httptools protocol with bounded request framing, for every uvicorn the project starts
(`--http app.api.server:BoundedHttpProtocol`): what happens before the app sees a request.

- The request line and headers may take at most MAX_HEADER_BYTES and MAX_HEADER_COUNT (431),
  and must arrive within REQUEST_HEADER_TIMEOUT_S of the connection opening or of the request's
  first byte (408): uvicorn itself keeps any number of headers of any size, for as long as they
  take to come.
- Requests the parser refuses (400) and these are problem+json, with `Connection: close`.
- On shutdown, a request whose body is still arriving is answered 503 at once: it has changed
  nothing, and uvicorn would otherwise cancel it at the end of the graceful shutdown, a 500.

Bodies that stop arriving are the app's 408 (app.api.middleware.request_body).
"""

import asyncio
import uuid
from http import HTTPStatus
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from app.api.middleware.request_id import REQUEST_ID_HEADER
from app.api.problems import PROBLEM_MEDIA_TYPE
from app.core.config import get_settings
from generated.models import Problem

SHUTDOWN_RETRY_AFTER_S = 5


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request that is over a limit."""

    def __init__(self, status: HTTPStatus, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class BoundedHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self._max_header_bytes = settings.MAX_HEADER_BYTES
        self._max_header_count = settings.MAX_HEADER_COUNT
        self._header_timeout_s = settings.REQUEST_HEADER_TIMEOUT_S
        self._header_bytes = 0
        self._header_count = 0
        self._header_deadline: asyncio.TimerHandle | None = None
        self._refused: _Refused | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_arrived()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = self._header_count = 0
        self._await_headers()

    def on_url(self, url: bytes) -> None:
        self._count(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value), 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._headers_arrived()
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        try:
            super().data_received(data)
        finally:
            self._refused = None

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it could not parse, or that a callback refused."""
        refused = self._refused or _Refused(HTTPStatus.BAD_REQUEST, "The request is malformed.")
        self._refuse(refused.status, refused.detail)

    def shutdown(self) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_started and cycle.more_body:
            request_id = cycle.scope["state"].get("request_id")
            self._refuse(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "The server is shutting down; retry the request.",
                request_id=request_id,
                headers={"Retry-After": str(SHUTDOWN_RETRY_AFTER_S)},
            )
            cycle.disconnected = True  # the app reads a disconnect; its answer goes nowhere
            cycle.message_event.set()
            return
        super().shutdown()

    def _count(self, size: int, headers: int) -> None:
        self._header_bytes += size
        self._header_count += headers
        if self._header_bytes > self._max_header_bytes or (
            self._header_count > self._max_header_count
        ):
            self._refused = _Refused(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"The request line and headers exceed {self._max_header_bytes} bytes or "
                f"{self._max_header_count} headers.",
            )
            raise self._refused  # httptools raises HttpParserCallbackError: send_400_response

    def _await_headers(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self._header_timeout_s, self._too_slow)

    def _headers_arrived(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self._refuse(HTTPStatus.REQUEST_TIMEOUT, "The request headers did not arrive in time.")

    def _refuse(
        self,
        status: HTTPStatus,
        detail: str,
        *,
        request_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer with a problem and close the connection."""
        request_id = request_id or uuid.uuid4().hex
        body = Problem(
            type="about:blank", title=status.phrase, status=status, detail=detail,
            request_id=request_id,
        ).model_dump_json().encode()  # fmt: skip
        fields = {
            "content-type": PROBLEM_MEDIA_TYPE,
            "content-length": str(len(body)),
            REQUEST_ID_HEADER.lower(): request_id,
            "connection": "close",
            **(headers or {}),
        }
        head = f"HTTP/1.1 {status.value} {status.phrase}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in fields.items()
        )
        self.transport.write(head.encode("latin-1") + b"\r\n" + body)
        self.transport.close()
