"""Refuses request bodies over MAX_BODY_BYTES before they are read whole: at once when the
Content-Length says so, and as soon as a chunked body grows past the limit."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.errors import PayloadTooLarge


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        received = 0

        async def limited_receive() -> Message:
            # Raised from the first read, so the error handlers render it like any other error.
            nonlocal received
            if declared is not None and declared > self.max_bytes:
                raise self._too_large()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, limited_receive, send)

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
