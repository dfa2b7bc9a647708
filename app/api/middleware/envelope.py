"""What every HTTP exchange gets on its way in and out, in one ASGI layer (each layer costs a
call, a closure and a wrapped `send` per request, a visible share of a cached read):

- in: the request id (app/api/middleware/request_id.py), in the request state and the logging
  context;
- out: X-Request-ID, X-Process-Time, the security and RateLimit-* headers
  (app/api/middleware/response_headers.py) and `Vary: Origin` (CORS answers differ by Origin;
  app/api/middleware/cross_origin.py), none of them replacing one the response set (Origin
  is added to a Vary the response set);
- after: the access-log line and the metrics (app/api/middleware/access_log.py).
"""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.middleware.access_log import Metrics, record
from app.api.middleware.request_id import request_id_for
from app.api.middleware.response_headers import rate_limit_headers, security_headers
from app.core.logging import request_id_var


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]


def _varying_by_origin(header: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """A Vary header the response set, with Origin added unless it names it (as Starlette's
    CORSMiddleware does); any other header as it is."""
    name, value = header
    if name.lower() != b"vary" or b"origin" in {v.strip().lower() for v in value.split(b",")}:
        return header
    return name, value + b", Origin"


class EnvelopeMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics
        self.fixed_headers = _encoded({**security_headers(hsts=hsts), "Vary": "Origin"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = request_id_for(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        context = request_id_var.set(request_id)
        status = 500

        async def send_wrapped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                added = [
                    (b"x-request-id", request_id.encode("latin-1")),
                    (b"x-process-time", f"{time.perf_counter() - start:.6f}".encode("latin-1")),
                    *self.fixed_headers,
                    *_encoded(rate_limit_headers(scope)),
                ]
                headers.extend(header for header in added if header[0] not in present)
                if b"vary" in present:
                    headers = [_varying_by_origin(header) for header in headers]
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapped)
        finally:
            record(scope, status, time.perf_counter() - start, self.metrics)
            request_id_var.reset(context)
