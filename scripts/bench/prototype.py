"""Prototypes of GET /tasks/{id} and POST /tasks with the levers of docs/performance.md applied,
mounted next to the real routes of an in-process app by the micro-benchmarks (never served).

They keep what the contract, security and reliability require:
- the token is decoded and its version compared with the user's row on every request, so
  revocation is immediate (a revoked, inactive or unknown user is a 401);
- ownership is in the WHERE clause (another user's task is a 404);
- errors are the app's own exceptions, rendered as problem+json by its handlers;
- the request body is validated once, strictly, against the generated model; the response model
  is validated once from the row and serialised once.

What changes: dependencies are `async def` (no thread-pool hop), one statement both authorises
and fetches (or inserts), statements are built once with bind parameters, the pool does not ping
SQLite before each checkout, and rows go to the response model without an ORM object. On SQLite,
writers of one process queue on an asyncio.Lock (first come, first served) before BEGIN IMMEDIATE
instead of in SQLite's busy handler, which polls with sleeps of up to 100 ms and is unfair
(BENCH_PROTOTYPE_WRITE_LOCK=0 turns this off; other processes still meet the busy timeout).
"""

import asyncio
import contextlib
import os
import uuid
from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI, Request
from sqlalchemy import and_, bindparam, insert, true
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col, select
from starlette.responses import Response

from app.api.deps import json_body
from app.api.middleware.access_log import USER_ID_KEY
from app.api.rate_limit import limit_user
from app.core.config import Settings
from app.core.db import Database, _configure
from app.core.security import InvalidToken, TokenClaims, TokenCodec, TokenType
from app.domain.errors import NotFound, Unauthorized
from app.domain.models import Task, User
from app.domain.types import utcnow
from generated import models as api

PREFIX = "/__bench/tasks"
URGENT_DEADLINE = timedelta(hours=24)
TASK_FIELDS = tuple(api.Task.model_fields)
_task_table = Task.metadata.tables["task"]
_user_table = User.metadata.tables["user"]

# GET: the user's token version and active flag, and the task if this user owns it.
GET_STATEMENT = (
    select(col(User.token_version), col(User.is_active), *_task_table.columns)
    .select_from(User)
    .outerjoin(
        Task,
        and_(col(Task.user_id) == col(User.id), col(Task.id) == bindparam("task_id")),
    )
    .where(col(User.id) == bindparam("user_id"))
)

# POST: insert only if the token is still current; RETURNING gives the row for the response.
_INSERTED = (
    "id", "user_id", "title", "description", "priority", "status", "due_date",
    "version", "created_at", "updated_at",
)  # fmt: skip
CREATE_STATEMENT = (
    insert(_task_table)
    .from_select(
        list(_INSERTED),
        select(*(bindparam(name, type_=_task_table.c[name].type) for name in _INSERTED)).where(
            _user_table.c.id == bindparam("owner", type_=_user_table.c.id.type),
            _user_table.c.token_version == bindparam("token_version"),
            _user_table.c.is_active == true(),
        ),
    )
    .returning(*_task_table.columns)
)


def prototype_database(settings: Settings) -> Database:
    """The app's engine configuration (WAL, busy timeout, BEGIN IMMEDIATE for writes), without
    the pre-ping: a SQLite file does not drop connections."""
    engine = create_async_engine(
        settings.async_database_url,
        pool_pre_ping=not settings.is_sqlite,
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
    )
    _configure(engine.sync_engine, settings, sqlite_busy_timeout_ms=0)
    return Database(engine)


async def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Not authenticated.")
    return token.strip()


def _task_response(row: Any, *, status: int = 200, location: bool = False) -> Response:
    model = api.Task.model_validate({name: row[name] for name in TASK_FIELDS})
    headers = {"ETag": f'"{row["version"]}"'}
    if location:
        headers["Location"] = f"/api/v1/tasks/{row['id']}"
    return Response(
        model.model_dump_json(), status_code=status, headers=headers, media_type="application/json"
    )


def install(app: FastAPI, database: Database, *, prefix: str = PREFIX, first: bool = False) -> None:
    """Add the prototype routes under `prefix`; `first` puts them ahead of the app's own routes
    (so that `prototype_app` serves them at the real paths)."""

    def claims_of(request: Request, token: str) -> TokenClaims:
        codec: TokenCodec = request.app.state.codec
        try:
            return codec.decode(token, expected=TokenType.ACCESS)
        except InvalidToken as exc:
            raise Unauthorized() from exc

    async def authorised(request: Request, claims: TokenClaims) -> None:
        setattr(request.state, USER_ID_KEY, str(claims.user_id))
        await limit_user(request, str(claims.user_id))

    routes_before = len(app.router.routes)
    write_lock: contextlib.AbstractAsyncContextManager[Any] = contextlib.nullcontext()
    if (
        database.engine.dialect.name == "sqlite"
        and os.environ.get("BENCH_PROTOTYPE_WRITE_LOCK", "1") == "1"
    ):
        write_lock = asyncio.Lock()

    @app.get(prefix + "/{task_id}", include_in_schema=False, response_model=None)
    async def prototype_get_task(
        request: Request, task_id: uuid.UUID, token: str = Depends(bearer_token)
    ) -> Response:
        claims = claims_of(request, token)
        async with database.session(write=False) as session:
            result = await session.execute(
                GET_STATEMENT, {"user_id": claims.user_id, "task_id": task_id}
            )
            row = result.mappings().first()
        if row is None or not row["is_active"] or row["token_version"] != claims.version:
            raise Unauthorized()
        await authorised(request, claims)
        if row["id"] is None:
            raise NotFound("Task not found.")
        return _task_response(row)

    @app.post(prefix, include_in_schema=False, response_model=None)
    async def prototype_create_task(
        request: Request,
        token: str = Depends(bearer_token),
        data: api.TaskCreate = Depends(json_body(api.TaskCreate)),  # already `async def`
    ) -> Response:
        claims = claims_of(request, token)
        values = data.model_dump()
        now = utcnow()
        due_date = values.get("due_date")
        if due_date is None and data.priority == api.TaskPriority.urgent:
            due_date = now + URGENT_DEADLINE
        parameters = {
            "id": uuid.uuid4(),
            "user_id": claims.user_id,
            "title": data.title,
            "description": values.get("description"),
            "priority": data.priority,
            "status": api.TaskStatus.todo,
            "due_date": due_date,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "owner": claims.user_id,
            "token_version": claims.version,
        }
        async with write_lock, database.session(write=True) as session:
            row = (await session.execute(CREATE_STATEMENT, parameters)).mappings().first()
        if row is None:
            raise Unauthorized()
        await authorised(request, claims)
        return _task_response(row, status=201, location=True)

    if first:
        added = app.router.routes[routes_before:]
        del app.router.routes[routes_before:]
        app.router.routes[:0] = added
