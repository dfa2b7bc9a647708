"""Micro-benchmarks behind docs/performance.md: what each piece of the request path costs,
measured in-process (no sockets), one request at a time, on uvloop.

    .venv/bin/python -m scripts.bench.micro [--number 2000] [--repeat 5]

Each line is the median over `repeat` batches of `number` calls: wall microseconds per call and
CPU microseconds per call (all threads of this process, the thread pool included). The app and
its requests are scripts/bench/inprocess.py's (production settings, a fresh SQLite file).
Writes reports/micro.json. Where a line compares an alternative (the ORM, a thread hop), it is
built next to the real code from the same models, engine and settings, so that the difference
is that one choice.
"""

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from app.api.routes.tasks import _task_json, _task_response
from app.core.config import Settings
from app.core.db import Database
from app.core.security import ALGORITHM, REQUIRED_CLAIMS, TokenType
from app.domain.models import Task, User
from app.repositories import tasks as tasks_repo
from app.repositories import users as users_repo
from scripts.servers import ROOT

from .inprocess import requests

# The task lookup by hand (SQLAlchemy stores UUIDs on SQLite as 32 hex characters).
RAW_GET = "SELECT * FROM task WHERE id = ? AND user_id = ?"


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


async def run(number: int, repeat: int) -> list[Measure]:
    results: list[Measure] = []
    scratch = Path(tempfile.mkdtemp(prefix="taskapi-micro-"))

    async def measure(name: str, fn: Callable[[], Awaitable[Any]], note: str = "") -> None:
        await fn()  # a new pool connects on its first call: count the steady state
        wall, cpu = await timed(fn, number, repeat)
        results.append(Measure(name, round(wall, 1), round(cpu, 1), note))
        print(f"{wall:9.1f} us wall {cpu:9.1f} us cpu  {name}  {note}", flush=True)

    async with requests(scratch) as prepared:
        app, token, ids, request = prepared.app, prepared.token, prepared.task_ids, prepared.by_name
        settings: Settings = app.state.settings
        database: Database = app.state.database
        codec = app.state.codec
        claims = codec.decode(token, expected=TokenType.ACCESS)
        user_id, task_id = claims.user_id, uuid.UUID(ids[0])

        # -- whole requests ------------------------------------------------------------------
        await measure("request: bare FastAPI GET /ping", request["ping"])
        await measure(
            "request: real app, trivial route, no middleware",
            request["trivial_bare"],
            "router, exception handlers",
        )
        await measure(
            "request: real app, trivial route, all middleware",
            request["trivial"],
            "+ request id, access log, headers, CORS, body size",
        )
        await measure("request: GET /tasks/{id}", request["get"])
        await measure("request: GET /tasks?per_page=20", request["list"])
        await measure("request: POST /tasks", request["create"])
        await measure("request: PATCH /tasks/{id} (If-Match)", request["patch"])

        # -- SQLite inline or through a thread -------------------------------------------------
        raw = sqlite3.connect(scratch / "bench.db", isolation_level=None, check_same_thread=False)
        lookup = (task_id.hex, user_id.hex)
        assert raw.execute(RAW_GET, lookup).fetchall()

        async def inline() -> None:
            raw.execute(RAW_GET, lookup).fetchall()

        async def threaded() -> None:
            await asyncio.to_thread(lambda: raw.execute(RAW_GET, lookup).fetchall())

        await measure("sqlite: the task lookup, inline (sqlite3)", inline, "what the app does")
        await measure(
            "sqlite: the same through a thread (asyncio.to_thread)",
            threaded,
            "one hop; aiosqlite made 4 per statement",
        )
        await measure("hop: run_in_threadpool(no-op)", lambda: run_in_threadpool(int), "1 hop")
        raw.close()

        # -- auth ----------------------------------------------------------------------------
        key = settings.secret_key

        async def verify_signature() -> None:
            jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS})

        async def decode_kept() -> None:
            codec.decode(token, expected=TokenType.ACCESS)

        await measure("auth: JWT signature check (PyJWT HS256 decode)", verify_signature)
        await measure("auth: TokenCodec.decode of a kept token", decode_kept, "what the app does")

        # -- database, through the app's engine ----------------------------------------------
        async def transaction_only() -> None:
            async with database.session(write=False) as session:
                await session.connection()

        async def connection_only() -> None:
            async with database.connection(write=False) as connection:
                await connection.begin()

        async def caller_check() -> None:
            async with database.connection(write=False) as connection:
                await users_repo.current_role(connection, user_id, claims.version)

        async def orm_user() -> None:
            async with database.session(write=False) as session:
                await session.get(User, user_id)

        async def checked_task() -> None:
            await tasks_repo.get_if_token_current(
                database, owner_id=user_id, token_version=claims.version, task_id=task_id
            )

        orm_query = select(Task).where(col(Task.id) == task_id, col(Task.user_id) == user_id)

        async def check_then_task() -> None:
            async with database.connection(write=False) as connection:
                await users_repo.current_role(connection, user_id, claims.version)
                (await connection.execute(orm_query)).first()

        async def orm_task() -> None:
            async with database.session(write=False) as session:
                (await session.exec(orm_query)).first()

        await measure("db: a read transaction alone (BEGIN, COMMIT, session)", transaction_only)
        await measure(
            "db: a read transaction alone (BEGIN, COMMIT, connection)",
            connection_only,
            "idempotent creates",
        )
        await measure(
            "db: caller check (one Core SELECT of the role)", caller_check, "the other endpoints"
        )
        await measure("db: the same as an ORM session.get(User)", orm_user, "before")
        await measure(
            "db: token check and task lookup in one statement (Database.read)",
            checked_task,
            "GET /tasks/{id}",
        )
        await measure("db: caller check, then the task lookup", check_then_task, "before that")
        await measure("db: the task lookup alone as an ORM select(Task)", orm_task, "at first")

        # -- serialisation -------------------------------------------------------------------
        row = await tasks_repo.get_if_token_current(
            database, owner_id=user_id, token_version=claims.version, task_id=task_id
        )
        assert row is not None

        async def serialise() -> None:
            _task_json.__wrapped__(row._fields, row)

        async def respond() -> None:
            _task_response(row)

        await measure(
            "serialise: a task row -> validated model -> JSON", serialise, "a row read first"
        )
        await measure("serialise: a remembered task row -> JSON Response", respond, "step 26")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.micro")
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", default="reports/micro.json")
    args = parser.parse_args()
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
