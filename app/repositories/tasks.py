"""Every statement on the `task` table. Each is scoped to the owner in its WHERE clause, so a
forgotten check elsewhere cannot leak another user's task, and each checks the caller's token
too, through their user row: a request's work is one statement, with no check before it. A
statement that matches nothing says only that; `users.caller_is_current` then tells a revoked
token from a missing task.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple
from uuid import UUID

from pydantic import AwareDatetime, TypeAdapter
from sqlalchemy import String, bindparam, delete, exists, func, insert, select, update

from app.core.db import Run
from app.core.statements import Statement
from app.domain.models import Task, TaskRecord, due_date_missing, priority_rank
from app.domain.search import search_text
from app.repositories.fulltext import NotAnIndexKey, TitlesHaveWords
from app.repositories.pagination import Order, Page
from app.repositories.users import is_current
from generated.models import TaskPriority, TaskSort, TaskStatus

_TASK = Task.metadata.tables["task"]


_KEY_TYPES: dict[str, Any] = {
    "created_at": TypeAdapter(tuple[AwareDatetime, UUID]),
    "title": TypeAdapter(tuple[str, UUID]),
    "priority": TypeAdapter(tuple[int, UUID]),
    "due_date": TypeAdapter(tuple[bool, AwareDatetime | None, UUID]),
}


def _keys(sort: TaskSort, c: Any, rank: Any, missing: Any, present: Any) -> tuple[Any, ...]:
    """The keys of the order `sort`, on `c`: a table's columns (with SQL for a priority's rank
    and a due date's absence) or a record (with Python for them). Tasks without a due date sort
    last both ways, so ascending due dates lead with "has none" and descending ones with "has
    one"; the id breaks ties."""
    name = sort.value.removeprefix("-")
    keys: tuple[Any, ...]
    if name == "priority":
        keys = (rank(c.priority),)
    elif name == "due_date":
        keys = (
            present(c.due_date) if sort.value.startswith("-") else missing(c.due_date),
            c.due_date,
        )
    else:
        keys = (getattr(c, name),)
    return (*keys, c.id)


def _order(sort: TaskSort, c: Any) -> Order:
    """The order `sort` names on the columns `c` (the table's, or a subquery's), as its index
    (app.domain.models) holds it."""
    keys = _keys(sort, c, priority_rank, due_date_missing, lambda due: ~due_date_missing(due))
    name = sort.value.removeprefix("-")
    return Order(keys=keys, descending=sort.value.startswith("-"), key_type=_KEY_TYPES[name])


_ORDERS = {sort: _order(sort, _TASK.c) for sort in TaskSort}
_PRIORITY_RANKS = {priority: rank for rank, priority in enumerate(TaskPriority)}


def sort_key(sort: TaskSort, task: TaskRecord) -> tuple[Any, ...]:
    """`task`'s key in the order `sort`: the rows after it are the next page."""
    return _keys(
        sort,
        task,
        _PRIORITY_RANKS.__getitem__,
        lambda due: due is None,
        lambda due: due is not None,
    )


def order_of(sort: TaskSort) -> Order:
    return _ORDERS[sort]


class TaskId(NamedTuple):
    id: uuid.UUID


class Scanned(NamedTuple):
    scanned: int


@dataclass(frozen=True, slots=True)
class TaskFilters:
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    search: tuple[str, ...] = ()  # the words of `q` (app.domain.search.words)


# `token_version` is still the token version of the caller (`owner_id`), and they are active.
_CALLER_IS_CURRENT = exists().where(*is_current(bindparam("owner_id"), bindparam("token_version")))


def _callers(task_id: Any = None) -> list[Any]:
    """The task is the caller's (`owner_id`), and their token is current."""
    conditions = [_TASK.c.user_id == bindparam("owner_id"), _CALLER_IS_CURRENT]
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
    """Insert a task with these column values (null for the columns left out; `search_text`
    from the title), if `token_version` is still the token version of its owner
    (`values["user_id"]`) and they are active; None otherwise."""
    given = {
        **_NO_VALUES,
        **values,
        "search_text": search_text(values["title"]),
        "token_version": token_version,
    }
    rows = await run(_INSERT_IF_TOKEN_CURRENT, given)
    return rows[0] if rows else None


# Each filter but the search, as a condition on a bind parameter of its name.
_FILTERS: dict[str, Any] = {
    "status": _TASK.c.status == bindparam("status"),
    "priority": _TASK.c.priority == bindparam("priority"),
    "due_before": _TASK.c.due_date < bindparam("due_before"),
    "due_after": _TASK.c.due_date >= bindparam("due_after"),
}
# How many of the owner's next tasks a search reads in order before it asks the full-text
# index instead: a word in one task in fifty fills a page of 20 from them.
SEARCH_WINDOW = 1000


def _page_conditions(
    filters: frozenset[str],
    order: Order,
    nulls: tuple[bool, ...] | None,
    owner: Any = _TASK.c.user_id,
) -> list[Any]:
    conditions = [owner == bindparam("owner_id"), *(_FILTERS[f] for f in sorted(filters))]
    if nulls is not None:
        conditions.append(order.after(nulls))
    return conditions


@lru_cache(maxsize=256)
def _page_statement(
    filters: frozenset[str], sort: TaskSort, nulls: tuple[bool, ...] | None, words: int
) -> Statement[TaskRecord]:
    """The next rows of a list, read off the sort's index, only if the caller's token is current
    (an uncorrelated EXISTS: each database runs it once). With `words`, the rows are those of
    the next SEARCH_WINDOW in the list whose search text has each word (`word_0`...) at the
    start of one of its words."""
    order = _ORDERS[sort]
    conditions = _page_conditions(filters, order, nulls)
    if not words:
        page = select(_TASK).where(*conditions, _CALLER_IS_CURRENT)
        return Statement(
            page.order_by(*order.order_by(nulls)).limit(bindparam("limit")), TaskRecord
        )
    window = (
        select(_TASK).where(*conditions).order_by(*order.order_by(nulls)).limit(SEARCH_WINDOW)
    ).subquery("window")
    starts = [
        window.c.search_text.like(bindparam(f"word_{i}", type_=String())) for i in range(words)
    ]
    page = select(window).where(*starts, _CALLER_IS_CURRENT)
    in_window = _order(sort, window.c)
    return Statement(
        page.order_by(*in_window.order_by(nulls)).limit(bindparam("limit")), TaskRecord
    )


@lru_cache(maxsize=128)
def _indexed_search_statement(
    filters: frozenset[str], sort: TaskSort, nulls: tuple[bool, ...] | None
) -> Statement[TaskRecord]:
    """The next rows of a search, from the full-text index's matches, which are few when this
    runs (the window held too few), then sorted. The matches are a materialized CTE so that
    neither database walks the owner's tasks in order instead (PostgreSQL would, guessing the
    word common; SQLite would for the owner's index, so the owner is no index key there)."""
    order = _ORDERS[sort]
    owner = NotAnIndexKey(_TASK.c.user_id)
    conditions = _page_conditions(filters, order, nulls, owner)
    matches = (
        select(_TASK)
        .where(*conditions, TitlesHaveWords("words"))
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    page = (
        select(matches)
        .where(_CALLER_IS_CURRENT)
        .order_by(*_order(sort, matches.c).order_by(nulls))
        .limit(bindparam("limit"))
    )
    return Statement(page, TaskRecord)


@lru_cache(maxsize=128)
def _scanned_statement(
    filters: frozenset[str], sort: TaskSort, nulls: tuple[bool, ...] | None
) -> Statement[Scanned]:
    """How many rows a search's window held (SEARCH_WINDOW unless the list ended in it)."""
    order = _ORDERS[sort]
    window = (
        select(_TASK.c.id)
        .where(*_page_conditions(filters, order, nulls))
        .order_by(*order.order_by(nulls))
        .limit(SEARCH_WINDOW)
    ).subquery("window")
    return Statement(select(func.count().label("scanned")).select_from(window), Scanned)


# The default list's statements, built at import: a record that does not fit its statement
# fails here rather than at the first request.
_page_statement(frozenset(), TaskSort.created_at_desc, None, 0)
_page_statement(frozenset(), TaskSort.created_at_desc, None, 1)
_indexed_search_statement(frozenset(), TaskSort.created_at_desc, None)


async def list_page(
    run: Run,
    *,
    owner_id: uuid.UUID,
    token_version: int,
    filters: TaskFilters,
    sort: TaskSort,
    page: Page,
) -> list[TaskRecord]:
    """Up to `page.size + 1` of the owner's tasks after `page.after` (one more than the page, to
    tell whether another follows); none when `token_version` is no longer current (or they were
    deactivated).

    A search reads the next SEARCH_WINDOW tasks in order and keeps those that match, which is
    enough for any word that is not rare; when that leaves the page short and the list goes on,
    the full-text index finds the rest."""
    values = {
        "status": filters.status,
        "priority": filters.priority,
        "due_before": filters.due_before,
        "due_after": filters.due_after,
    }
    given = {name: value for name, value in values.items() if value is not None}
    order = _ORDERS[sort]
    nulls = None if page.after is None else tuple(value is None for value in page.after)
    params: dict[str, Any] = {**given, "owner_id": owner_id, "token_version": token_version}
    if page.after is not None:
        params |= order.parameters(page.after)
    params["limit"] = page.size + 1
    words = filters.search
    keys = frozenset(given)
    statement = _page_statement(keys, sort, nulls, len(words))
    word_params = {f"word_{i}": f"% {word}%" for i, word in enumerate(words)}
    rows = await run(statement, params | word_params)
    if len(rows) > page.size or not words:
        return rows
    [window] = await run(_scanned_statement(keys, sort, nulls), params)
    if window.scanned < SEARCH_WINDOW:
        return rows
    return await run(_indexed_search_statement(keys, sort, nulls), params | {"words": words})


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
    if "title" in values:
        values = {**values, "search_text": search_text(values["title"])}
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
