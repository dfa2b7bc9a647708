"""Adds the RateLimit-* headers of the budget a request spent (see app/api/rate_limit.py)."""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.rate_limit import STATE_KEY, Budget


class RateLimitHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_budget(message: Message) -> None:
            if message["type"] == "http.response.start":
                budget: Budget | None = scope.get("state", {}).get(STATE_KEY)
                if budget is not None:
                    headers = MutableHeaders(scope=message)
                    for name, value in budget.headers().items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_budget)
