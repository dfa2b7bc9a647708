"""`Database.read` and `Database.write` return what SQLAlchemy's own execution returns for the
same statements, row for row, as the responses read them: each task validates into the same
contract `Task` (the same JSON, byte for byte) with the same version, and every other value is
equal and of the same type. Checked on the task reads and writes over Hypothesis-generated
tasks, and on the list over every filter, sort and page shape. On SQLite they run on sqlite3
directly (app.core.sqlite_direct), converting parameters with the types' processors and leaving
the columns as stored for the models; this is what keeps them honest."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Enum as SAEnum
from sqlalchemy import Numeric, Select, cast, literal, select
from sqlalchemy.exc import StatementError

from app.core.db import Database
from app.core.security import TokenType
from app.core.sqlite_direct import Query
from app.domain.models import Task
from app.repositories import tasks as tasks_repo
from app.repositories.pagination import Page
from app.repositories.tasks import TaskFilters
from generated import models as api
from generated.models import TaskPriority, TaskSort, TaskStatus
from tests.conftest import API, Account, app_of, run_on_app, stored_task

TEXT = st.text(st.characters(categories=("L", "N", "P", "Zs")), min_size=1, max_size=60).filter(
    str.strip
)
TASKS = st.fixed_dictionaries(
    {"title": TEXT},
    optional={
        "description": st.none() | TEXT,
        "priority": st.sampled_from([p.value for p in TaskPriority]),
        "due_date": st.datetimes(
            min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
        ).map(datetime.isoformat),
    },
)


def as_read(rows: list[Any]) -> list[Any]:
    """Each row as a response reads it: a task as its contract `Task`'s JSON and its version
    (the ETag), any other row (a count, a missing task's NULLs) as its typed values."""
    return [
        (api.Task.model_validate(row, from_attributes=True).model_dump_json(), row.version)
        if getattr(row, "id", None) is not None
        else [(type(value), value) for value in row]
        for row in rows
    ]


async def both_ways(database: Database, queries: list[Query]) -> tuple[list[Any], list[Any]]:
    """The rows of `queries` through `Database.read`, and through SQLAlchemy's execution."""
    read = await database.read(queries)
    async with database.connection(write=False) as connection:
        executed = [list(await connection.execute(query, values)) for query, values in queries]
    return [as_read(rows) for rows in read], [as_read(rows) for rows in executed]


def caller(client: TestClient, account: Account) -> tuple[uuid.UUID, int]:
    claims = app_of(client).state.codec.decode(account.access_token, expected=TokenType.ACCESS)
    return claims.user_id, claims.version


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tasks=st.lists(TASKS, min_size=1, max_size=4))
def test_task_reads_are_the_rows_sqlalchemy_returns(
    client: TestClient, user: Account, tasks: list[dict[str, Any]]
) -> None:
    created = [client.post(f"{API}/tasks", json=task, headers=user.headers) for task in tasks]
    assert [c.status_code for c in created] == [201] * len(tasks), created[0].text
    owner_id, version = caller(client, user)
    queries = [
        tasks_repo.callers_task_query(
            owner_id=owner_id, token_version=version, task_id=uuid.UUID(c.json()["id"])
        )
        for c in created
    ]
    database = app_of(client).state.database
    read, executed = run_on_app(client, lambda: both_ways(database, queries))
    assert read == executed
    assert [rows[0][0] for rows in read] == [c.text for c in created]


FILTERS = [
    TaskFilters(),
    TaskFilters(status=TaskStatus.todo),
    TaskFilters(status=TaskStatus.in_progress),
    TaskFilters(priority=TaskPriority.high),
    TaskFilters(due_before=datetime(2026, 6, 1, 2, 45, tzinfo=UTC)),
    TaskFilters(due_after=datetime(2026, 6, 1, 5, tzinfo=timezone(timedelta(hours=3)))),
    TaskFilters(search="STRASSE"),
    TaskFilters(search="é"),
    TaskFilters(search="%"),
    TaskFilters(search="_"),
    TaskFilters(search="\\"),
    TaskFilters(status=TaskStatus.todo, priority=TaskPriority.low, search="a"),
]
TITLES = ["Alpha", "beta", "Straße", "50% off", "under_score", "back\\slash", "Émile", "zeta"]


@pytest.fixture
def varied_tasks(client: TestClient, user: Account) -> None:
    for i, title in enumerate(TITLES * 3):
        body: dict[str, Any] = {
            "title": f"{title} {i}",
            "priority": list(TaskPriority)[i % 4].value,
            "description": None if i % 3 else "described",
        }
        if i % 5:
            due = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=13 * i, minutes=97 * i)
            body["due_date"] = due.isoformat()
        if i in (3, 4):  # either side of the due filters' instants, 02:00 and 02:45 UTC
            body["due_date"] = ["2026-06-01T03:00:00Z", "2026-05-31T23:30:00-03:00"][i - 3]
        created = client.post(f"{API}/tasks", json=body, headers=user.headers)
        assert created.status_code == 201, created.text
        if i % 4 == 1:
            changed = client.patch(
                f"{API}/tasks/{created.json()['id']}",
                json={"status": "in_progress"},
                headers=user.headers,
            )
            assert changed.status_code == 200, changed.text


@pytest.mark.usefixtures("varied_tasks")
def test_list_reads_are_the_rows_sqlalchemy_returns(client: TestClient, user: Account) -> None:
    owner_id, version = caller(client, user)
    database = app_of(client).state.database
    shapes = list(itertools.product(FILTERS, TaskSort, [Page(1, 5), Page(2, 5), Page(1, 100)]))

    async def compare_all() -> tuple[list[tuple[Any, ...]], int]:
        differences, with_rows = [], 0
        for filters, sort, page in shapes:
            queries = tasks_repo.list_queries(
                owner_id=owner_id, token_version=version, filters=filters, sort=sort, page=page
            )
            read, executed = await both_ways(database, queries)
            if read != executed:
                differences.append((filters, sort, page, read, executed))
            with_rows += bool(read[1])
        return differences, with_rows

    differences, with_rows = run_on_app(client, compare_all)
    assert differences == []
    assert with_rows > len(shapes) // 2  # most shapes had a page of rows to compare


def test_a_stale_token_version_reads_nothing(client: TestClient, user: Account) -> None:
    created = client.post(f"{API}/tasks", json={"title": "mine"}, headers=user.headers)
    owner_id, version = caller(client, user)
    task_id = uuid.UUID(created.json()["id"])
    database = app_of(client).state.database

    async def read() -> tuple[Any, Any]:
        one = await tasks_repo.get_if_token_current(
            database, owner_id=owner_id, token_version=version - 1, task_id=task_id
        )
        page = await tasks_repo.list_page_if_token_current(
            database,
            owner_id=owner_id,
            token_version=version - 1,
            filters=TaskFilters(),
            sort=TaskSort.created_at_desc,
            page=Page(1, 20),
        )
        return one, page

    assert run_on_app(client, read) == (None, None)


def task_values(user_id: uuid.UUID, task: dict[str, Any]) -> dict[str, Any]:
    """Every column of a new task, as the service fills them in."""
    now = datetime.now(UTC)
    due = task.get("due_date")
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "title": task["title"],
        "description": task.get("description"),
        "priority": TaskPriority(task.get("priority", "medium")),
        "status": TaskStatus.todo,
        "due_date": None if due is None else datetime.fromisoformat(due),
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(task=TASKS, change=TASKS)
def test_task_writes_return_the_rows_sqlalchemy_reads_back(
    client: TestClient, user: Account, task: dict[str, Any], change: dict[str, Any]
) -> None:
    """A create, an update (If-Match with several versions: an expanding parameter) and a
    delete through `Database.write`: each returns the row as stored, as the responses read
    it."""
    owner_id, version = caller(client, user)
    database: Database = app_of(client).state.database
    values = task_values(owner_id, task)
    changed = {
        key: value
        for key, value in task_values(owner_id, change).items()
        if key in ("title", "description", "priority", "due_date", "updated_at")
    }
    owned: dict[str, Any] = {
        "owner_id": owner_id,
        "token_version": version,
        "task_id": values["id"],
    }

    async def write_all() -> list[Any]:
        created = await tasks_repo.add_if_token_current(database, values, token_version=version)
        after_create = await stored_task(database, values["id"])
        updated = await tasks_repo.update_if_current(
            database, **owned, expected_versions=frozenset({7, 1, 3}), values=changed
        )
        after_update = await stored_task(database, values["id"])
        deleted = await tasks_repo.delete_if_current(
            database, **owned, expected_versions=frozenset({2})
        )
        after_delete = await stored_task(database, values["id"])
        return [created, after_create, updated, after_update, deleted, after_delete]

    created, after_create, updated, after_update, deleted, after_delete = run_on_app(
        client, write_all
    )
    assert as_read([created]) == as_read([after_create])
    assert as_read([updated]) == as_read([after_update])
    assert dict(zip(Task.model_fields, after_update, strict=True)) == {
        **values, **changed, "version": 2
    }  # fmt: skip
    assert (deleted, after_delete) == (True, None)


def test_writes_with_a_stale_token_version_change_nothing(
    client: TestClient, user: Account
) -> None:
    created = client.post(f"{API}/tasks", json={"title": "mine"}, headers=user.headers)
    owner_id, version = caller(client, user)
    task_id = uuid.UUID(created.json()["id"])
    database: Database = app_of(client).state.database
    owned: dict[str, Any] = {"owner_id": owner_id, "token_version": version - 1, "task_id": task_id}

    async def write_all() -> tuple[Any, ...]:
        values = task_values(owner_id, {"title": "not mine to add"})
        added = await tasks_repo.add_if_token_current(database, values, token_version=version - 1)
        updated = await tasks_repo.update_if_current(
            database, **owned, expected_versions=None, values={"title": "changed"}
        )
        deleted = await tasks_repo.delete_if_current(database, **owned, expected_versions=None)
        return added, updated, deleted, await stored_task(database, values["id"])

    assert run_on_app(client, write_all) == (None, None, False, None)
    assert client.get(f"{API}/tasks", headers=user.headers).json()["tasks"] == [created.json()]


def test_a_write_that_fails_rolls_back_and_lets_go_of_the_lock(
    client: TestClient, user: Account
) -> None:
    """A statement that fails midway (a value its column's processor refuses) writes nothing,
    and the next write finds the write lock free."""
    owner_id, version = caller(client, user)
    database: Database = app_of(client).state.database
    naive = {**task_values(owner_id, {"title": "naive"}), "created_at": datetime(2026, 1, 1)}

    async def fail_then_write() -> Any:
        # (SQLAlchemy's execution wraps the processor's error, as it does on PostgreSQL.)
        with pytest.raises((ValueError, StatementError), match="naive datetime"):
            await tasks_repo.add_if_token_current(database, naive, token_version=version)
        values = task_values(owner_id, {"title": "after"})
        return await tasks_repo.add_if_token_current(database, values, token_version=version)

    after = run_on_app(client, fail_then_write)
    assert after.title == "after"
    titles = [t["title"] for t in client.get(f"{API}/tasks", headers=user.headers).json()["tasks"]]
    assert titles == ["after"]


def test_the_default_page_is_read_in_index_order_without_a_sort(
    sqlite_client: TestClient,
) -> None:
    """Newest first, ties by id: a page comes off ix_task_user_id_created_at_id, so it never
    sorts all of the owner's tasks first (SQLite's query plan, on a database of its own)."""
    database: Database = app_of(sqlite_client).state.database
    _, (page, _) = tasks_repo.list_queries(
        owner_id=uuid.uuid4(),
        token_version=0,
        filters=TaskFilters(),
        sort=TaskSort.created_at_desc,
        page=Page(1, 20),
    )
    assert isinstance(page, Select)
    sql = str(page.compile(dialect=database.engine.dialect))

    async def plan() -> list[str]:
        async with database.connection(write=False) as connection:
            explained = await connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {sql}", (str(uuid.uuid4()), 20, 0)
            )
            return [row[-1] for row in explained]

    steps = run_on_app(sqlite_client, plan)
    assert steps == ["SEARCH task USING INDEX ix_task_user_id_created_at_id (user_id=?)"]


def test_a_column_the_models_would_read_otherwise_is_refused(sqlite_client: TestClient) -> None:
    """Rows on sqlite3 hold values as stored, for the models; a type whose stored value they
    would read as something else than its result processor returns (Numeric: a Decimal) is
    refused when its statement is first prepared, rather than read wrong."""
    database: Database = app_of(sqlite_client).state.database
    amount = select(cast(literal(1), Numeric(10, 2)).label("amount"))
    with pytest.raises(TypeError, match="Numeric"):
        run_on_app(sqlite_client, lambda: database.read([(amount, {})]))
    # Nothing is left broken: the next read works.
    one = select(literal(1).label("one"))
    assert run_on_app(sqlite_client, lambda: database.read([(one, {})])) == [[(1,)]]


class Shade(StrEnum):
    LIGHT = "light"


def test_an_enum_stored_by_name_is_refused(sqlite_client: TestClient) -> None:
    """The models read an enum by its value; a column that stores names ("LIGHT") would be
    misread, so it is refused (the tables store values: `_string_enum`)."""
    database: Database = app_of(sqlite_client).state.database
    by_name = select(cast(literal("LIGHT"), SAEnum(Shade, native_enum=False)).label("shade"))
    with pytest.raises(TypeError, match="names"):
        run_on_app(sqlite_client, lambda: database.read([(by_name, {})]))
