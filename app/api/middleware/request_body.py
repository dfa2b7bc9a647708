"""Bounds on request bodies, enforced while they are read:

- size: bodies over MAX_BODY_BYTES are refused (413) at once when the Content-Length says so,
  and as soon as a chunked body grows past the limit;
- time: a body that stops arriving for REQUEST_BODY_TIMEOUT_S is a 408 with `Connection: close`
  (the rest of it may still come, and would be read as the next request).
"""

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.errors import PayloadTooLarge, RequestTimeout


class RequestBodyMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        received = 0

        async def bounded_receive() -> Message:
            # Raised from the read, so the error handlers render it like any other error.
            nonlocal received
            if declared is not None and declared > self.max_bytes:
                raise self._too_large()
            try:
                async with asyncio.timeout(self.timeout_s):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout("The request body did not arrive in time.") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, bounded_receive, send)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body exceeds {self.max_bytes} bytes.")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
