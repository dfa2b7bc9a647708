"""CORS for the requests that carry an Origin header: Starlette's CORSMiddleware, skipped for
the others (API clients, servers, same-origin pages). For those it would only append `Vary:
Origin` to the response, which the envelope adds to every response instead
(app/api/middleware/envelope.py): 5 % of a GET /tasks/{id}'s instructions saved."""

from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


class CrossOriginMiddleware:
    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(name == b"origin" for name, _ in scope["headers"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
