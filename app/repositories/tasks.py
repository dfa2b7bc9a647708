"""Every query on the `task` table. Each one is scoped to the owner in its WHERE clause, so a
forgotten check elsewhere cannot leak another user's task.

The queries are SQLAlchemy Core and return rows, not ORM objects: a task is read, validated into
the response model and sent, and the ORM's identity map, object loading and unit of work would
cost more than the statements (a list of 20 pays it 20 times). Each request's work is one
statement (two for a list) that checks the caller's token too, run through `Database.read` or
`Database.write`; an idempotent create inserts on its unit of work's connection instead, in the
transaction that stores its response.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.db import Database
from app.core.sqlite_direct import Query
from app.domain.models import Task, User
from app.repositories.pagination import Page
from app.repositories.users import contains_pattern, is_current, lower_like
from generated.models import TaskPriority, TaskSort, TaskStatus

# A task as read, an attribute per column (`row.title`, `row.version`), to validate into the
# contract's `Task`: SQLAlchemy's Row (Python values), or on SQLite a row of `Database.read` or
# `Database.write` (the values as stored; app.core.sqlite_direct). Code reads only `id` (None
# or not) and `version` (an integer either way) before validating.
TaskRow = Any

_TASK = Task.metadata.tables["task"]
_USER = User.metadata.tables["user"]
_PRIORITY_RANK = case(
    {p.value: rank for rank, p in enumerate(TaskPriority)}, value=_TASK.c.priority
)
_SORT_COLUMNS: dict[str, Any] = {
    "created_at": _TASK.c.created_at,
    "due_date": _TASK.c.due_date,
    "priority": _PRIORITY_RANK,
    "title": _TASK.c.title,
}


@dataclass(frozen=True, slots=True)
class TaskFilters:
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    search: str | None = None


def _conditional_write_conditions(conditional: bool) -> list[Any]:
    """The task `task_id` is `owner_id`'s, and `token_version` is still their token version
    (and they are active): a write checks the caller's token in its own statement.
    `conditional`: the task still has one of `expected_versions` (If-Match)."""
    conditions = [
        _TASK.c.id == bindparam("task_id"),
        _TASK.c.user_id == bindparam("owner_id"),
        exists().where(*is_current(bindparam("owner_id"), bindparam("token_version"))),
    ]
    if conditional:
        conditions.append(_TASK.c.version.in_(bindparam("expected_versions", expanding=True)))
    return conditions


def _order_by(sort: TaskSort) -> list[Any]:
    key = sort.value.removeprefix("-")
    descending = sort.value.startswith("-")
    column = _SORT_COLUMNS[key]
    ordered = column.desc() if descending else column.asc()
    # Tasks without a due date sort last either way; ties are broken by id for stable pages.
    keys: list[Any] = [_TASK.c.due_date.is_(None)] if key == "due_date" else []
    keys += [ordered, _TASK.c.id.desc() if descending else _TASK.c.id.asc()]
    return keys


# The hottest statement: GET /tasks/{id} checks the caller's token and reads the task at once.
_CALLERS_TASK = (
    select(_TASK)
    .select_from(
        _USER.outerjoin(
            _TASK, and_(_TASK.c.id == bindparam("task_id"), _TASK.c.user_id == _USER.c.id)
        )
    )
    .where(*is_current(bindparam("owner_id"), bindparam("token_version")))
)


def callers_task_query(*, owner_id: uuid.UUID, token_version: int, task_id: uuid.UUID) -> Query:
    """The task and the caller check in one statement (see `get_if_token_current`)."""
    return _CALLERS_TASK, {"task_id": task_id, "owner_id": owner_id, "token_version": token_version}


async def get_if_token_current(
    database: Database, *, owner_id: uuid.UUID, token_version: int, task_id: uuid.UUID
) -> TaskRow | None:
    """The owner's task `task_id`, read by the statement that checks the caller's token: None
    when `token_version` is no longer the owner's (or they were deactivated); a row of NULLs
    (`id` None) when they have no such task."""
    query = callers_task_query(owner_id=owner_id, token_version=token_version, task_id=task_id)
    [rows] = await database.read([query])
    return rows[0] if rows else None


# INSERT ... SELECT from the owner's user row: nothing is inserted unless their token is current.
_INSERT_IF_TOKEN_CURRENT = (
    insert(_TASK)
    .from_select(
        [column.name for column in _TASK.c],
        select(*(bindparam(column.name, type_=column.type) for column in _TASK.c)).where(
            *is_current(bindparam("user_id"), bindparam("token_version"))
        ),
    )
    .returning(*_TASK.c)
)


async def add_if_token_current(
    on: Database | AsyncConnection, values: dict[str, Any], *, token_version: int
) -> TaskRow | None:
    """Insert a task given every column's value, if `token_version` is still the token version
    of its owner (`values["user_id"]`) and they are active; None otherwise. Committed at once
    `on` a Database; in the caller's transaction `on` a connection."""
    params = {**values, "token_version": token_version}
    if isinstance(on, Database):
        rows = await on.write(_INSERT_IF_TOKEN_CURRENT, params)
    else:
        rows = list(await on.execute(_INSERT_IF_TOKEN_CURRENT, params))
    return rows[0] if rows else None


# Each filter, as a condition on a bind parameter of its name.
_FILTERS: dict[str, Any] = {
    "status": _TASK.c.status == bindparam("status"),
    "priority": _TASK.c.priority == bindparam("priority"),
    "due_before": _TASK.c.due_date < bindparam("due_before"),
    "due_after": _TASK.c.due_date >= bindparam("due_after"),
    "search": lower_like(_TASK.c.title, bindparam("search")),
}


@cache  # at most 2**5 filter sets x 8 sorts; SQLAlchemy then reuses their compiled forms
def _list_statements(filters: frozenset[str], sort: TaskSort) -> tuple[Any, Any]:
    """The statements of a list: the total, counted through the caller's user row so that it
    checks their token too, and the page."""
    conditions = [_TASK.c.user_id == bindparam("owner_id"), *(_FILTERS[f] for f in sorted(filters))]
    count = select(func.count()).select_from(_TASK).where(*conditions).scalar_subquery()
    total = select(count).where(*is_current(bindparam("owner_id"), bindparam("token_version")))
    page = (
        select(_TASK)
        .where(*conditions)
        .order_by(*_order_by(sort))
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )
    return total, page


def list_queries(
    *,
    owner_id: uuid.UUID,
    token_version: int,
    filters: TaskFilters,
    sort: TaskSort,
    page: Page,
) -> list[Query]:
    """The statements of a list: the total, counted through the caller's user row (no row when
    `token_version` is no longer current), and the page."""
    values = {
        "status": filters.status,
        "priority": filters.priority,
        "due_before": filters.due_before,
        "due_after": filters.due_after,
        "search": contains_pattern(filters.search) if filters.search else None,
    }
    given = {name: value for name, value in values.items() if value is not None}
    total_statement, page_statement = _list_statements(frozenset(given), sort)
    params = {**given, "owner_id": owner_id, "token_version": token_version}
    page_params = {**params, "offset": page.offset, "limit": page.size}
    return [(total_statement, params), (page_statement, page_params)]


async def list_page_if_token_current(
    database: Database,
    *,
    owner_id: uuid.UUID,
    token_version: int,
    filters: TaskFilters,
    sort: TaskSort,
    page: Page,
) -> tuple[list[TaskRow], int] | None:
    """A page of the owner's tasks and how many match in all, read in one snapshot; the count
    checks their token too, so None means `token_version` is no longer current (or they were
    deactivated)."""
    queries = list_queries(
        owner_id=owner_id, token_version=token_version, filters=filters, sort=sort, page=page
    )
    totals, rows = await database.read(queries)
    if not totals:
        return None
    return rows, int(totals[0][0])


@cache  # at most 2**5 sets of columns x 2; SQLAlchemy then reuses their compiled forms
def _update_statement(columns: frozenset[str], conditional: bool) -> Any:
    """UPDATE of `columns` (each from the bind parameter `set_<column>`), bumping the version."""
    new_values: dict[Any, Any] = {
        _TASK.c[name]: bindparam(f"set_{name}", type_=_TASK.c[name].type) for name in columns
    }
    new_values[_TASK.c.version] = _TASK.c.version + 1
    return (
        update(_TASK)
        .where(*_conditional_write_conditions(conditional))
        .values(new_values)
        .returning(*_TASK.c)
    )


@cache
def _delete_statement(conditional: bool) -> Any:
    return delete(_TASK).where(*_conditional_write_conditions(conditional)).returning(_TASK.c.id)


def _conditional_write_params(
    owner_id: uuid.UUID,
    token_version: int,
    task_id: uuid.UUID,
    expected_versions: frozenset[int] | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "owner_id": owner_id,
        "token_version": token_version,
        "task_id": task_id,
    }
    if expected_versions is not None:
        params["expected_versions"] = sorted(expected_versions)
    return params


async def update_if_current(
    database: Database,
    *,
    owner_id: uuid.UUID,
    token_version: int,
    task_id: uuid.UUID,
    expected_versions: frozenset[int] | None,
    values: dict[str, Any],
) -> TaskRow | None:
    """Apply `values` in one conditional UPDATE, bumping the version.

    With `expected_versions`, the row changes only if it still has one of those versions, so of
    several writers holding the same ETag exactly one succeeds. None when nothing matched, or
    when `token_version` is no longer the owner's.
    """
    statement = _update_statement(frozenset(values), expected_versions is not None)
    params = _conditional_write_params(owner_id, token_version, task_id, expected_versions)
    params |= {f"set_{name}": value for name, value in values.items()}
    rows = await database.write(statement, params)
    return rows[0] if rows else None


async def delete_if_current(
    database: Database,
    *,
    owner_id: uuid.UUID,
    token_version: int,
    task_id: uuid.UUID,
    expected_versions: frozenset[int] | None,
) -> bool:
    """Delete the task as `update_if_current` updates it; whether it was deleted."""
    statement = _delete_statement(expected_versions is not None)
    params = _conditional_write_params(owner_id, token_version, task_id, expected_versions)
    return bool(await database.write(statement, params))
