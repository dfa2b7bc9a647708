"""Every statement on the `task` table. Each is scoped to the owner in its WHERE clause, so a
forgotten check elsewhere cannot leak another user's task, and each checks the caller's token
too, through their user row: a request's work is one statement (two for a list), with no check
before it. A statement that matches nothing says only that; `users.caller_is_current` then tells
a revoked token from a missing task.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, delete, exists, func, insert, select, update

from app.core.db import Run
from app.core.statements import Statement
from app.domain.models import Task, TaskOnPage, TaskRecord
from app.repositories.pagination import Page
from app.repositories.users import contains_pattern, is_current, lower_like
from generated.models import TaskPriority, TaskSort, TaskStatus

_TASK = Task.metadata.tables["task"]
_PRIORITY_RANK = case(
    {p.value: rank for rank, p in enumerate(TaskPriority)}, value=_TASK.c.priority
)
_SORT_COLUMNS: dict[str, Any] = {
    "created_at": _TASK.c.created_at,
    "due_date": _TASK.c.due_date,
    "priority": _PRIORITY_RANK,
    "title": _TASK.c.title,
}


class TaskId(NamedTuple):
    id: uuid.UUID


class Total(NamedTuple):
    total: int


@dataclass(frozen=True, slots=True)
class TaskFilters:
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    search: str | None = None


def _callers(task_id: Any = None) -> list[Any]:
    """The task is the caller's (`owner_id`), and `token_version` is still their token version
    (and they are active)."""
    conditions = [
        _TASK.c.user_id == bindparam("owner_id"),
        exists().where(*is_current(bindparam("owner_id"), bindparam("token_version"))),
    ]
    if task_id is not None:
        conditions.insert(0, _TASK.c.id == task_id)
    return conditions


# The hottest statement: GET /tasks/{id}.
_CALLERS_TASK = Statement(select(_TASK).where(*_callers(bindparam("task_id"))), TaskRecord)

# INSERT ... SELECT from the owner's user row: nothing is inserted unless their token is current.
_INSERT_IF_TOKEN_CURRENT = Statement(
    insert(_TASK)
    .from_select(
        [column.name for column in _TASK.c],
        select(*(bindparam(column.name, type_=column.type) for column in _TASK.c)).where(
            *is_current(bindparam("user_id"), bindparam("token_version"))
        ),
    )
    .returning(*_TASK.c),
    TaskRecord,
)


def _identity(owner_id: uuid.UUID, token_version: int, task_id: uuid.UUID) -> dict[str, Any]:
    return {"owner_id": owner_id, "token_version": token_version, "task_id": task_id}


async def get(
    run: Run, *, owner_id: uuid.UUID, token_version: int, task_id: uuid.UUID
) -> TaskRecord | None:
    """The owner's task `task_id`; None when they have none, or `token_version` is not theirs."""
    rows = await run(_CALLERS_TASK, _identity(owner_id, token_version, task_id))
    return rows[0] if rows else None


_NO_VALUES = dict.fromkeys(_TASK.c.keys())


async def add(run: Run, values: dict[str, Any], *, token_version: int) -> TaskRecord | None:
    """Insert a task with these column values (null for the columns left out), if
    `token_version` is still the token version of its owner (`values["user_id"]`) and they are
    active; None otherwise."""
    given = {**_NO_VALUES, **values, "token_version": token_version}
    rows = await run(_INSERT_IF_TOKEN_CURRENT, given)
    return rows[0] if rows else None


# Each filter, as a condition on a bind parameter of its name.
_FILTERS: dict[str, Any] = {
    "status": _TASK.c.status == bindparam("status"),
    "priority": _TASK.c.priority == bindparam("priority"),
    "due_before": _TASK.c.due_date < bindparam("due_before"),
    "due_after": _TASK.c.due_date >= bindparam("due_after"),
    "search": lower_like(_TASK.c.title, bindparam("search")),
}


def _order_by(sort: TaskSort) -> list[Any]:
    key = sort.value.removeprefix("-")
    descending = sort.value.startswith("-")
    column = _SORT_COLUMNS[key]
    ordered = column.desc() if descending else column.asc()
    # Tasks without a due date sort last either way; ties are broken by id for stable pages.
    keys: list[Any] = [_TASK.c.due_date.is_(None)] if key == "due_date" else []
    keys += [ordered, _TASK.c.id.desc() if descending else _TASK.c.id.asc()]
    return keys


@lru_cache(maxsize=(1 << len(_FILTERS)) * len(TaskSort))
def _list_statements(
    filters: frozenset[str], sort: TaskSort
) -> tuple[Statement[TaskOnPage], Statement[Total]]:
    """The statements of a list: the page, each row with the total and only if the caller's
    token is current (both subqueries are uncorrelated: each database runs them once); and for
    a page with no rows, the total alone, counted through the caller's user row."""
    conditions = [_TASK.c.user_id == bindparam("owner_id"), *(_FILTERS[f] for f in sorted(filters))]
    count = select(func.count()).select_from(_TASK).where(*conditions).scalar_subquery()
    caller = is_current(bindparam("owner_id"), bindparam("token_version"))
    page = (
        select(*_TASK.c, count.label("total"))
        .where(*conditions, exists().where(*caller))
        .order_by(*_order_by(sort))
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )
    total = select(count.label("total")).where(*caller)
    return Statement(page, TaskOnPage), Statement(total, Total)


# The default list's statements, built at import: a record that does not fit its statement
# fails here rather than at the first request.
_list_statements(frozenset(), TaskSort.created_at_desc)


async def list_page(
    run: Run,
    *,
    owner_id: uuid.UUID,
    token_version: int,
    filters: TaskFilters,
    sort: TaskSort,
    page: Page,
) -> tuple[list[TaskOnPage], int] | None:
    """A page of the owner's tasks and how many match in all, in one statement (two when the
    page is empty); None when `token_version` is no longer current (or they were
    deactivated)."""
    values = {
        "status": filters.status,
        "priority": filters.priority,
        "due_before": filters.due_before,
        "due_after": filters.due_after,
        "search": contains_pattern(filters.search) if filters.search else None,
    }
    given = {name: value for name, value in values.items() if value is not None}
    page_statement, total_statement = _list_statements(frozenset(given), sort)
    params = {**given, "owner_id": owner_id, "token_version": token_version}
    rows = await run(page_statement, {**params, "offset": page.offset, "limit": page.size})
    if rows:
        return rows, rows[0].total
    totals = await run(total_statement, params)
    return ([], totals[0].total) if totals else None


def _if_match(conditional: bool) -> list[Any]:
    """The caller's task, with (If-Match) one of `expected_versions`."""
    conditions = _callers(bindparam("task_id"))
    if conditional:
        conditions.append(_TASK.c.version.in_(bindparam("expected_versions", expanding=True)))
    return conditions


@lru_cache(maxsize=1 << (len(_TASK.c) + 1))
def _update_statement(columns: frozenset[str], conditional: bool) -> Statement[TaskRecord]:
    """UPDATE of `columns` (each from the bind parameter `set_<column>`), bumping the version."""
    new_values: dict[Any, Any] = {
        _TASK.c[name]: bindparam(f"set_{name}", type_=_TASK.c[name].type) for name in columns
    }
    new_values[_TASK.c.version] = _TASK.c.version + 1
    statement = update(_TASK).where(*_if_match(conditional)).values(new_values)
    return Statement(statement.returning(*_TASK.c), TaskRecord)


_DELETE = {
    conditional: Statement(
        delete(_TASK).where(*_if_match(conditional)).returning(_TASK.c.id), TaskId
    )
    for conditional in (False, True)
}


def _conditional_values(
    owner_id: uuid.UUID,
    token_version: int,
    task_id: uuid.UUID,
    expected_versions: frozenset[int] | None,
) -> dict[str, Any]:
    values = _identity(owner_id, token_version, task_id)
    if expected_versions is not None:
        values["expected_versions"] = sorted(expected_versions)
    return values


async def update_if_current(
    run: Run,
    *,
    owner_id: uuid.UUID,
    token_version: int,
    task_id: uuid.UUID,
    expected_versions: frozenset[int] | None,
    values: dict[str, Any],
) -> TaskRecord | None:
    """Apply `values` in one conditional UPDATE, bumping the version.

    With `expected_versions`, the row changes only if it still has one of those versions, so of
    several writers holding the same ETag exactly one succeeds. None when nothing matched, or
    when `token_version` is no longer the owner's.
    """
    statement = _update_statement(frozenset(values), expected_versions is not None)
    params = _conditional_values(owner_id, token_version, task_id, expected_versions)
    params |= {f"set_{name}": value for name, value in values.items()}
    rows = await run(statement, params)
    return rows[0] if rows else None


async def delete_if_current(
    run: Run,
    *,
    owner_id: uuid.UUID,
    token_version: int,
    task_id: uuid.UUID,
    expected_versions: frozenset[int] | None,
) -> bool:
    """Delete the task as `update_if_current` updates it; whether it was deleted."""
    statement = _DELETE[expected_versions is not None]
    params = _conditional_values(owner_id, token_version, task_id, expected_versions)
    return bool(await run(statement, params))
