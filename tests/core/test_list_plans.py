"""Every list shape reads an index in its order: the database's own plan (EXPLAIN QUERY PLAN on
SQLite, EXPLAIN on PostgreSQL) of each list statement has no scan of the whole task table and no
sort of the owner's tasks, so a page costs the same at a thousand tasks or a million. A new
sort or filter without its index fails here.

On PostgreSQL, plans are asked for with sequential scans and sorts priced out
(`enable_seqscan`, `enable_sort` off), so an empty table tells which plans an index makes
possible; a shape no index serves still scans or sorts."""

import asyncio
import json
import re
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url

from app.core.postgres import asyncpg_dsn
from app.core.statements import NoRows, Statement
from app.domain.models import Task
from app.domain.search import search_text
from app.repositories import tasks as tasks_repo
from app.repositories import users as users_repo
from generated.models import TaskSort
from tests.conftest import Account, execute

WHEN = datetime(2026, 12, 1, tzinfo=UTC)
FILTER_VALUES: dict[str, Any] = {
    "status": "todo",
    "priority": "high",
    "due_before": WHEN,
    "due_after": WHEN,
}
SAMPLE_KEYS: dict[str, tuple[Any, ...]] = {
    "created_at": (WHEN,),
    "title": ("title",),
    "priority": (2,),
    "due_date": (True, WHEN),  # has a due date (ascending: "has none" is False)
}


def _after(sort: TaskSort, null_due_date: bool) -> dict[str, Any]:
    """Bind values for a cursor in the order `sort` (in the undated group, if asked)."""
    name = sort.value.removeprefix("-")
    descending = sort.value.startswith("-")
    values = SAMPLE_KEYS[name]
    if name == "due_date":
        values = (not null_due_date, None) if null_due_date else (descending, WHEN)
        if not descending:
            values = (null_due_date, None if null_due_date else WHEN)
    return tasks_repo.order_of(sort).parameters((*values, uuid.uuid4()))


def _task_shapes() -> list[tuple[str, Statement[Any], dict[str, Any]]]:
    identity = {"owner_id": uuid.uuid4(), "token_version": 0, "limit": 21}
    shapes: list[tuple[str, Statement[Any], dict[str, Any]]] = []
    for sort in TaskSort:
        shapes.append((f"first page by {sort.value}", _page(frozenset(), sort, None), identity))
        after = _after(sort, null_due_date=False)
        nulls = (False,) * len(after)
        shapes.append(
            (f"next page by {sort.value}", _page(frozenset(), sort, nulls), identity | after)
        )
        if sort.value.removeprefix("-") == "due_date":
            after = _after(sort, null_due_date=True)
            nulls = tuple(v is None for v in after.values())
            statement = _page(frozenset(), sort, nulls)
            shapes.append((f"next undated page by {sort.value}", statement, identity | after))
    default = TaskSort.created_at_desc
    for filters in (["status"], ["priority"], ["status", "priority"]):
        given = {name: FILTER_VALUES[name] for name in filters}
        statement = _page(frozenset(filters), default, None)
        shapes.append((f"filtered by {'+'.join(filters)}", statement, identity | given))
    return shapes


def _page(filters: frozenset[str], sort: TaskSort, nulls: tuple[bool, ...] | None) -> Any:
    return tasks_repo._page_statement(filters, sort, nulls, 0)


TASK_SHAPES = _task_shapes()
USER_SHAPES = [
    ("users, first page", users_repo._page_statement(frozenset(), False), {"limit": 21}),
    (
        "users, next page",
        users_repo._page_statement(frozenset(), True),
        {"limit": 21} | users_repo.ORDER.parameters((WHEN, uuid.uuid4())),
    ),
]
SEARCH = {"owner_id": uuid.uuid4(), "token_version": 0, "limit": 21}
SEARCH_SHAPES = [
    (
        "search, in the window",
        tasks_repo._page_statement(frozenset(), TaskSort.created_at_desc, None, 1),
        SEARCH | {"word_0": "% report%"},
    ),
    (
        "search, by the full-text index",
        tasks_repo._indexed_search_statement(frozenset(), TaskSort.created_at_desc, None),
        SEARCH | {"words": ("report",)},
    ),
]


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_plan(url: str, statement: Statement[Any], values: dict[str, Any]) -> list[str]:
    sql, parameters = statement.compiled(SQLiteDialect_pysqlite()).arguments(values)
    path = make_url(url).database
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        rows = connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters).fetchall()
    return [str(row[3]) for row in rows]


def _postgres_plan(
    url: str, statement: Statement[Any], values: dict[str, Any], *, sort: bool = False
) -> str:
    sql, parameters = statement.compiled(PGDialect_asyncpg()).arguments(values)  # type: ignore[no-untyped-call]

    async def explain() -> str:
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await connection.execute("SET enable_seqscan = off")
            if not sort:
                await connection.execute("SET enable_sort = off")
            plan = await connection.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *parameters)
        finally:
            await connection.close()
        return json.dumps(json.loads(plan) if isinstance(plan, str) else plan)

    return asyncio.run(explain())


def _ids(value: Any) -> str:
    return value if isinstance(value, str) else ""


@pytest.mark.parametrize(("shape", "statement", "values"), TASK_SHAPES + USER_SHAPES, ids=_ids)
def test_a_list_page_reads_an_index_in_its_order(
    database_url: str,
    client: TestClient,
    shape: str,
    statement: Statement[Any],
    values: dict[str, Any],
) -> None:
    if _is_sqlite(database_url):
        plan = _sqlite_plan(database_url, statement, values)
        task_reads = [step for step in plan if re.match(r"(SCAN|SEARCH) (task|user)\b", step)]
        assert task_reads, plan
        assert all(step.startswith("SEARCH") or "USING INDEX" in step for step in task_reads), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan
    else:
        plan_text = _postgres_plan(database_url, statement, values)
        assert '"Seq Scan"' not in plan_text, plan_text
        assert '"Node Type": "Sort"' not in plan_text, plan_text
        assert '"Incremental Sort"' not in plan_text, plan_text


@pytest.fixture
def an_owner_of_many_tasks(client: TestClient, user: Account, database_url: str) -> uuid.UUID:
    """A user with 2,000 tasks, one with the word "report", and the planner's statistics."""
    owner = uuid.UUID(user.id)
    titles = ["filler"] * 1999 + ["the report"]
    rows = [
        {
            "id": uuid.uuid4(),
            "user_id": owner,
            "title": title,
            "search_text": search_text(title),
            "priority": "medium",
            "status": "todo",
            "version": 1,
            "created_at": WHEN,
            "updated_at": WHEN,
        }
        for title in titles
    ]
    execute(client, insert(Task.metadata.tables["task"]).values(rows), NoRows)
    if _is_sqlite(database_url):
        with sqlite3.connect(make_url(database_url).database or "") as connection:
            connection.execute("ANALYZE")
    else:
        asyncio.run(_postgres(database_url, "ANALYZE task"))
    return owner


async def _postgres(url: str, sql: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.mark.parametrize(("shape", "statement", "values"), SEARCH_SHAPES, ids=_ids)
def test_a_search_reads_the_window_in_order_or_the_full_text_index(
    database_url: str,
    an_owner_of_many_tasks: uuid.UUID,
    shape: str,
    statement: Statement[Any],
    values: dict[str, Any],
) -> None:
    values = values | {"owner_id": an_owner_of_many_tasks}
    window = "window" in shape
    if _is_sqlite(database_url):
        plan = _sqlite_plan(database_url, statement, values)
        if window:
            expected = "SEARCH task USING INDEX ix_task_user_id_created_at_id"
            assert any(step.startswith(expected) for step in plan), plan
        else:
            assert any("VIRTUAL TABLE" in step for step in plan), plan
            assert any("SEARCH task USING INTEGER PRIMARY KEY" in step for step in plan), plan
        assert not any(re.match(r"SCAN task\b", step) for step in plan), plan
    else:
        plan_text = _postgres_plan(database_url, statement, values, sort=not window)
        assert '"Seq Scan"' not in plan_text, plan_text
        index = "ix_task_user_id_created_at_id" if window else "ix_task_search_text"
        assert index in plan_text, plan_text
