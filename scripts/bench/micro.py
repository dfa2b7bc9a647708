"""Micro-benchmarks behind the proposals in docs/performance.md: what each piece of the request
path costs, measured in-process (no sockets), one request at a time, on uvloop.

    .venv/bin/python -m scripts.bench.micro [--number 2000] [--repeat 5]

Each line is the median over `repeat` batches of `number` calls: wall microseconds per call and
CPU microseconds per call (all threads of this process: aiosqlite and the thread pool included).
The database is a fresh SQLite file; the app is `create_app()` with production settings (argon2
is made cheap here only because no login is measured). Writes reports/micro.json. It changes
nothing under app/: alternatives are built next to the real code, from the same models, engine
and settings, so that the difference is the lever alone.
"""

import argparse
import asyncio
import json
import os
import secrets
import statistics
import tempfile
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# app.main builds a default app at import time from the environment; keep its warning quiet.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(36))

import aiosqlite
import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from pydantic import TypeAdapter
from sqlalchemy import and_, event
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.contract import path_template
from app.api.routes.tasks import _task_response
from app.core.config import Settings
from app.core.db import Database, _configure
from app.core.security import TokenType
from app.domain.models import Task, User
from app.main import create_app
from app.repositories import tasks as tasks_repo
from app.repositories import users as users_repo
from generated import models as api
from scripts.servers import ROOT, new_secret_key

from . import ping_app, prototype
from .asgi import call, lifespan

API = "/api/v1"
# The prototype's statement by hand (SQLAlchemy stores UUIDs on SQLite as 32 hex characters).
RAW_GET = (
    'SELECT "user".token_version, "user".is_active, task.* FROM "user" '
    'LEFT OUTER JOIN task ON task.user_id = "user".id AND task.id = ? WHERE "user".id = ?'
)
JSON = {"content-type": "application/json"}


@dataclass
class Measure:
    name: str
    wall_us: float
    cpu_us: float
    note: str = ""


async def timed(fn: Callable[[], Awaitable[Any]], number: int, repeat: int) -> tuple[float, float]:
    for _ in range(max(10, number // 10)):
        await fn()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(number):
            await fn()
        walls.append((time.perf_counter() - wall) / number * 1e6)
        cpus.append((time.process_time() - cpu) / number * 1e6)
    return statistics.median(walls), statistics.median(cpus)


@contextmanager
def counting_hops() -> Iterator[dict[str, int]]:
    """Count thread hops: statements handed to aiosqlite's thread and calls into the pool."""
    counts = {"aiosqlite": 0, "thread_pool": 0}
    original_execute = aiosqlite.Connection._execute
    original_run_sync = anyio.to_thread.run_sync

    async def execute(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counts["aiosqlite"] += 1
        return await original_execute(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    async def run_sync(*args: Any, **kwargs: Any) -> Any:
        counts["thread_pool"] += 1
        return await original_run_sync(*args, **kwargs)

    aiosqlite.Connection._execute = execute  # type: ignore[method-assign]
    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    try:
        yield counts
    finally:
        aiosqlite.Connection._execute = original_execute  # type: ignore[method-assign]
        anyio.to_thread.run_sync = original_run_sync


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """The app's SQLite settings (app/core/db.py) without its BEGIN listener."""
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "busy_timeout=15000",
        "foreign_keys=ON",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _dependency_apps() -> tuple[FastAPI, FastAPI]:
    """Two apps whose one route takes three trivial dependencies: plain `def` (FastAPI runs
    each in the thread pool) and `async def` (run on the event loop)."""

    def s1(request: Request) -> str:
        return str(request.headers.get("authorization", ""))

    def s2(request: Request) -> str | None:
        return request.headers.get("if-none-match")

    def s3(request: Request) -> object:
        return request.app.state

    async def a1(request: Request) -> str:
        return str(request.headers.get("authorization", ""))

    async def a2(request: Request) -> str | None:
        return request.headers.get("if-none-match")

    async def a3(request: Request) -> object:
        return request.app.state

    sync_app, async_app = FastAPI(openapi_url=None), FastAPI(openapi_url=None)

    @sync_app.get("/x", response_model=None)
    async def sync_route(
        x: str = Depends(s1), y: str | None = Depends(s2), z: object = Depends(s3)
    ) -> Response:
        return Response(b"{}", media_type="application/json")

    @async_app.get("/x", response_model=None)
    async def async_route(
        x: str = Depends(a1), y: str | None = Depends(a2), z: object = Depends(a3)
    ) -> Response:
        return Response(b"{}", media_type="application/json")

    return sync_app, async_app


async def run(number: int, repeat: int) -> list[Measure]:
    results: list[Measure] = []
    scratch = Path(tempfile.mkdtemp(prefix="taskapi-micro-"))
    settings = Settings(
        _env_file=None,
        ENVIRONMENT="production",
        SECRET_KEY=new_secret_key(),
        DATABASE_URL=f"sqlite:///{scratch}/micro.db",
        LOG_LEVEL="WARNING",
        RATE_LIMIT_ENABLED=False,
        ARGON2_TIME_COST=1,
        ARGON2_MEMORY_COST_KIB=8,
    )
    app = create_app(settings)

    @app.get("/__bench_ping", include_in_schema=False, response_model=None)
    async def real_app_ping() -> Response:
        return Response(b'{"ping":"pong"}', media_type="application/json")

    bare = create_app(settings)
    bare.user_middleware.clear()
    bare.add_api_route("/__bench_ping", real_app_ping, include_in_schema=False)

    async def measure(name: str, fn: Callable[[], Awaitable[Any]], note: str = "") -> None:
        await fn()  # a new pool connects on its first call: count the steady state
        with counting_hops() as hops:
            await fn()
        if hops["aiosqlite"] or hops["thread_pool"]:
            counted = f"{hops['aiosqlite']} aiosqlite + {hops['thread_pool']} pool hops"
            note = f"{note}; {counted}" if note else counted
        wall, cpu = await timed(fn, number, repeat)
        results.append(Measure(name, round(wall, 1), round(cpu, 1), note))
        print(f"{wall:9.1f} us wall {cpu:9.1f} us cpu  {name}  {note}", flush=True)

    async with lifespan(app), lifespan(bare):
        body = json.dumps({"email": "micro@example.com", "password": "correct-horse-battery"})
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
        database: Database = app.state.database
        codec = app.state.codec
        user_id = uuid.UUID(str(codec.decode(token, expected=TokenType.ACCESS).user_id))
        task_id = uuid.UUID(ids[0])
        first = await call(app, "GET", f"{API}/tasks/{ids[1]}", headers=auth)
        etag = {"current": first.headers["etag"]}

        # -- whole requests ------------------------------------------------------------------
        counter = {"i": 0}

        def next_id() -> str:
            counter["i"] += 1
            return ids[counter["i"] % len(ids)]

        async def patch() -> None:
            headers = auth | JSON | {"if-match": etag["current"]}
            reply = await call(
                app, "PATCH", f"{API}/tasks/{ids[1]}", headers=headers,
                body=b'{"status":"in_progress"}',
            )  # fmt: skip
            etag["current"] = reply.headers["etag"]

        requests: list[tuple[str, Callable[[], Awaitable[Any]], str]] = [
            ("request: bare FastAPI GET /ping", lambda: call(ping_app.app, "GET", "/ping"), ""),
            (
                "request: real app, trivial route, no middleware",
                lambda: call(bare, "GET", "/__bench_ping"),
                "router, exception handlers",
            ),
            (
                "request: real app, trivial route, all middleware",
                lambda: call(app, "GET", "/__bench_ping"),
                "+ request id, access log, headers, CORS, body size",
            ),
            (
                "request: GET /tasks/{id}",
                lambda: call(app, "GET", f"{API}/tasks/{next_id()}", headers=auth),
                "",
            ),
            (
                "request: GET /tasks?per_page=20",
                lambda: call(app, "GET", f"{API}/tasks?per_page=20", headers=auth),
                "",
            ),
            (
                "request: POST /tasks",
                lambda: call(
                    app,
                    "POST",
                    f"{API}/tasks",
                    headers=auth | JSON,
                    body=b'{"title":"micro","priority":"high"}',
                ),
                "",
            ),
            ("request: PATCH /tasks/{id} (If-Match)", patch, ""),
        ]
        for name, fn, note in requests:
            await measure(name, fn, note)

        # -- the same requests with the levers applied (scripts/bench/prototype.py) ----------
        prototype_db = prototype.prototype_database(settings)
        prototype.install(app, prototype_db)
        real = await call(app, "GET", f"{API}/tasks/{ids[2]}", headers=auth)
        proto = await call(app, "GET", f"{prototype.PREFIX}/{ids[2]}", headers=auth)
        assert (proto.status, proto.body, proto.headers["etag"]) == (
            real.status, real.body, real.headers["etag"],
        ), "the prototype must answer exactly what the real route answers"  # fmt: skip
        await measure(
            "prototype: GET /tasks/{id}, levers applied",
            lambda: call(app, "GET", f"{prototype.PREFIX}/{next_id()}", headers=auth),
            "async deps, one statement, no pre-ping, no ORM object",
        )
        await measure(
            "prototype: POST /tasks, levers applied",
            lambda: call(
                app,
                "POST",
                prototype.PREFIX,
                headers=auth | JSON,
                body=b'{"title":"micro","priority":"high"}',
            ),
            "INSERT .. SELECT .. WHERE token current RETURNING",
        )

        # -- thread hops ---------------------------------------------------------------------
        async with aiosqlite.connect(str(scratch / "micro.db"), isolation_level=None) as raw:

            async def select_one() -> None:
                await raw.execute_fetchall("SELECT 1")

            await measure("hop: aiosqlite statement (SELECT 1)", select_one)

            async def raw_get() -> None:
                await raw.execute_fetchall(RAW_GET, (task_id.hex, user_id.hex))

            assert await raw.execute_fetchall(RAW_GET, (task_id.hex, user_id.hex))

            await measure(
                "db: floor: the one statement on raw aiosqlite, autocommit",
                raw_get,
                "no SQLAlchemy",
            )
        await measure("hop: run_in_threadpool(no-op)", lambda: run_in_threadpool(int), "1 hop")
        sync_app, async_app = _dependency_apps()
        await measure(
            "deps: 3 sync `def` dependencies", lambda: call(sync_app, "GET", "/x"), "3 pool hops"
        )
        await measure(
            "deps: the same 3 as `async def`", lambda: call(async_app, "GET", "/x"), "no hop"
        )

        # -- auth, database, serialisation ---------------------------------------------------
        async def decode() -> None:
            codec.decode(token, expected=TokenType.ACCESS)

        await measure("auth: JWT decode (PyJWT HS256)", decode)

        async def current_db_path(db: Database) -> Task | None:
            async with db.session(write=False) as session:
                user = await users_repo.get(session, user_id)
                assert user is not None
                return await tasks_repo.get(session, owner_id=user.id, task_id=task_id)

        await measure(
            "db: GET today (session.get(User) + select(Task), BEGIN..COMMIT)",
            lambda: current_db_path(database),
        )
        no_ping_engine = create_async_engine(
            settings.async_database_url, pool_size=settings.DB_POOL_SIZE, pool_pre_ping=False
        )
        _configure(no_ping_engine.sync_engine, settings, sqlite_busy_timeout_ms=0)
        no_ping = Database(no_ping_engine)
        await measure(
            "db: the same without pool_pre_ping", lambda: current_db_path(no_ping), "-1 SELECT 1"
        )

        # One statement that authorises and fetches: the user's token version and active flag
        # (compared in Python, so a revoked token is still a 401) and the task if this user owns
        # it (NULLs otherwise: a 404). The ownership condition stays in the query.
        owned = and_(col(Task.user_id) == col(User.id), col(Task.id) == task_id)
        one_query = (
            select(col(User.token_version), col(User.is_active), Task)
            .outerjoin(Task, owned)
            .where(col(User.id) == user_id)
        )
        task_columns = Task.metadata.tables["task"].columns
        columns = [col(User.token_version), col(User.is_active), *task_columns]
        core_query = (
            select(*columns).select_from(User).outerjoin(Task, owned).where(col(User.id) == user_id)
        )

        async def joined(db: Database) -> Any:
            async with db.session(write=False) as session:
                return (await session.execute(one_query)).first()

        async def joined_core(db: Database) -> Any:
            async with db.session(write=False) as session:
                return (await session.execute(core_query)).mappings().first()

        await measure(
            "db: one statement (token version + task, outer join), ORM entity",
            lambda: joined(database),
            "authorises and fetches at once",
        )
        await measure(
            "db: one statement, Core row mapping (no ORM entity)", lambda: joined_core(database)
        )
        await measure(
            "db: one statement, Core rows, no pool_pre_ping", lambda: joined_core(no_ping)
        )

        async def on_connection() -> Any:
            async with no_ping_engine.connect() as connection:
                return (await connection.execute(core_query)).mappings().first()

        await measure(
            "db: the same on an AsyncConnection (no ORM Session)",
            on_connection,
            "BEGIN still sent by the app's listener",
        )
        autocommit_engine = create_async_engine(
            settings.async_database_url, pool_pre_ping=False, isolation_level="AUTOCOMMIT"
        )
        event.listen(autocommit_engine.sync_engine, "connect", _sqlite_pragmas)

        async def autocommit() -> Any:
            async with autocommit_engine.connect() as connection:
                return (await connection.execute(core_query)).mappings().first()

        await measure(
            "db: the same in autocommit (no BEGIN/COMMIT for a one-statement read)",
            autocommit,
            "one statement is atomic on its own",
        )

        async with database.session(write=False) as session:
            task = await tasks_repo.get(session, owner_id=user_id, task_id=task_id)
            row = (await session.execute(core_query)).mappings().first()
        assert task is not None
        assert row is not None
        fields = {k: row[k] for k in api.Task.model_fields if k in row}
        task_adapter = TypeAdapter(api.Task)

        async def response_today() -> None:
            _task_response(task)

        async def response_from_row() -> None:
            model = api.Task.model_validate(fields)
            Response(model.model_dump_json(), headers={"ETag": f'"{row["version"]}"'})

        async def response_dump_only() -> None:
            dumped = task_adapter.dump_json(api.Task.model_construct(**fields))
            Response(dumped, headers={"ETag": f'"{row["version"]}"'})

        async def stdlib_json() -> None:
            json.dumps({k: str(v) for k, v in fields.items()})

        await measure(
            "serialise: today (validate from ORM attributes + dump_json + Response)",
            response_today,
        )
        await measure("serialise: validate from a row mapping + dump_json", response_from_row)
        await measure("serialise: model_construct + dump_json (no validation)", response_dump_only)
        await measure("serialise: json.dumps of a str dict (for scale)", stdlib_json)

        async def template() -> None:
            path_template(f"{API}/tasks/{task_id}")

        await measure("log: path_template() per request (access log)", template)
        data = api.TaskCreate(title="micro", priority=api.TaskPriority.high)

        async def canonical() -> None:
            data.model_dump_json()

        await measure("create: canonical_request dump when no Idempotency-Key", canonical)
        await no_ping_engine.dispose()
        await autocommit_engine.dispose()
        await prototype_db.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.micro")
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", default="reports/micro.json")
    args = parser.parse_args()
    # SQLModel nudges towards session.exec(); the Core variants here want execute() on purpose.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="sqlmodel")
    warnings.filterwarnings("ignore", message=".*session.exec.*")
    try:
        import uvloop
    except ImportError:
        results = asyncio.run(run(args.number, args.repeat))
    else:
        results = uvloop.run(run(args.number, args.repeat))
    output = ROOT / args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps([m.__dict__ for m in results], indent=2) + "\n")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
