"""The in-process requests shared by the micro-benchmarks and the instruction counts: the app
with production settings on a fresh SQLite file, one user with 50 tasks, and a request of each
kind, called as uvicorn calls the app but without sockets (scripts/bench/asgi.py)."""

import json
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

# app.main builds a default app at import time from the environment; keep its warning quiet.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(36))

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.responses import Response

from app.api.deps import AccessClaims, TaskId
from app.api.routing import endpoint
from app.core.config import Settings
from app.main import create_app
from scripts.servers import new_secret_key

from . import ping_app
from .asgi import Reply, call, lifespan

API = "/api/v1"
JSON = {"content-type": "application/json"}
TRIVIAL = "/__bench_ping"
NEW = b'{"title":"bench","priority":"high"}'


def settings_for(scratch: Path) -> Settings:
    """Production settings on a SQLite file in `scratch` (argon2 is made cheap here only because
    no login is measured)."""
    return Settings(
        _env_file=None,
        ENVIRONMENT="production",
        SECRET_KEY=new_secret_key(),
        DATABASE_URL=f"sqlite:///{scratch}/bench.db",
        LOG_LEVEL="WARNING",
        RATE_LIMIT_ENABLED=False,
        ARGON2_TIME_COST=1,
        ARGON2_MEMORY_COST_KIB=8,
    )


async def _trivial() -> Response:
    return Response(b'{"ping":"pong"}', media_type="application/json")


async def authenticated(_claims: AccessClaims, _task_id: TaskId) -> Response:
    """GET /tasks/{id}'s parameters (the token, the path) without its database work."""
    return await _trivial()


@dataclass
class Requests:
    app: FastAPI
    token: str
    task_ids: list[str]
    auth: dict[str, str]
    # name -> one request of that kind; each call of "get" reads the next of the 50 tasks, and
    # each "patch" sends the ETag the previous one returned.
    by_name: dict[str, Callable[[], Awaitable[Reply]]] = field(default_factory=dict)


@asynccontextmanager
async def requests(scratch: Path | None = None) -> AsyncIterator[Requests]:
    """The app started (and a copy without middleware, for the trivial route), seeded, with its
    requests: ping (the bare FastAPI app), trivial and trivial_bare (a route returning constant
    bytes in the real app, with and without its middleware), authenticated (GET /tasks/{id}'s
    token and path parameter, no database work), get, list, create and patch."""
    settings = settings_for(scratch or Path(tempfile.mkdtemp(prefix="taskapi-bench-")))
    app = create_app(settings)
    app.add_api_route(TRIVIAL, _trivial, include_in_schema=False)
    # First in the route table, as the tasks routes are (the trivial route is matched last).
    route = APIRoute("/authenticated/{task_id}", endpoint(authenticated), include_in_schema=False)
    app.router.routes.insert(0, route)
    bare = create_app(settings)
    bare.user_middleware.clear()
    bare.add_api_route(TRIVIAL, _trivial, include_in_schema=False)
    async with lifespan(app), lifespan(bare):
        body = json.dumps({"email": "bench@example.com", "password": "correct-horse-battery"})
        await call(app, "POST", f"{API}/auth/register", headers=JSON, body=body.encode())
        login = await call(app, "POST", f"{API}/auth/login", headers=JSON, body=body.encode())
        token = login.json()["access_token"]
        auth = {"authorization": f"Bearer {token}"}
        ids: list[str] = []
        for i in range(50):
            created = await call(
                app, "POST", f"{API}/tasks", headers=auth | JSON,
                body=json.dumps({"title": f"task {i}", "priority": "high"}).encode(),
            )  # fmt: skip
            ids.append(created.json()["id"])
        first = await call(app, "GET", f"{API}/tasks/{ids[1]}", headers=auth)
        etag = first.headers["etag"]
        turn = 0

        def get() -> Awaitable[Reply]:
            nonlocal turn
            turn += 1
            return call(app, "GET", f"{API}/tasks/{ids[turn % len(ids)]}", headers=auth)

        async def patch() -> Reply:
            nonlocal etag
            reply = await call(
                app, "PATCH", f"{API}/tasks/{ids[1]}", headers=auth | JSON | {"if-match": etag},
                body=b'{"status":"in_progress"}',
            )  # fmt: skip
            etag = reply.headers["etag"]
            return reply

        yield Requests(
            app,
            token,
            ids,
            auth,
            {
                "ping": lambda: call(ping_app.app, "GET", "/ping"),
                "trivial_bare": lambda: call(bare, "GET", TRIVIAL),
                "trivial": lambda: call(app, "GET", TRIVIAL),
                "authenticated": lambda: call(app, "GET", f"/authenticated/{ids[0]}", headers=auth),
                "get": get,
                "list": lambda: call(app, "GET", f"{API}/tasks?per_page=20", headers=auth),
                "create": lambda: call(app, "POST", f"{API}/tasks", headers=auth | JSON, body=NEW),
                "patch": patch,
            },
        )
