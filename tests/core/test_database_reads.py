"""`Database.read` returns what SQLAlchemy's own execution returns for the same task, value for
value and type for type, whatever the task holds. On SQLite it runs on sqlite3 directly
(app.core.sqlite_reads), converting with the column types' processors; this is what keeps it
honest."""

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.security import TokenType
from app.repositories import tasks as tasks_repo
from app.repositories.pagination import Page
from app.repositories.tasks import TaskFilters
from generated.models import TaskPriority, TaskSort
from tests.conftest import API, Account, app_of, run_on_app

TEXT = st.text(st.characters(categories=("L", "N", "P", "Zs")), min_size=1, max_size=60).filter(
    str.strip
)
TASKS = st.fixed_dictionaries(
    {"title": TEXT},
    optional={
        "description": st.none() | TEXT,
        "priority": st.sampled_from([p.value for p in TaskPriority]),
        "due_date": st.datetimes(
            min_value=datetime(1900, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.just(UTC)
        ).map(datetime.isoformat),
    },
)


def as_values(row: Any) -> list[tuple[type, Any]]:
    return [(type(value), value) for value in row]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tasks=st.lists(TASKS, min_size=1, max_size=4))
def test_read_rows_are_the_rows_sqlalchemy_returns(
    client: TestClient, user: Account, tasks: list[dict[str, Any]]
) -> None:
    created = [client.post(f"{API}/tasks", json=task, headers=user.headers) for task in tasks]
    assert [c.status_code for c in created] == [201] * len(tasks), created[0].text
    state = app_of(client).state
    database = state.database
    owner_id = uuid.UUID(user.id)
    version = state.codec.decode(user.access_token, expected=TokenType.ACCESS).version
    ids = [uuid.UUID(c.json()["id"]) for c in created]

    async def read_both_ways() -> tuple[list[Any], list[Any], list[Any]]:
        read = [
            await tasks_repo.get_if_token_current(
                database, owner_id=owner_id, token_version=version, task_id=task_id
            )
            for task_id in ids
        ]
        listed = await tasks_repo.list_page_if_token_current(
            database,
            owner_id=owner_id,
            token_version=version,
            filters=TaskFilters(),
            sort=TaskSort.created_at_desc,
            page=Page(1, 100),
        )
        assert listed is not None
        async with database.connection(write=False) as connection:
            by_sqlalchemy = [
                await tasks_repo.get(connection, owner_id=owner_id, task_id=row.id)
                for row in listed[0]
            ]
        return read, listed[0], by_sqlalchemy

    read, listed, by_sqlalchemy = run_on_app(client, read_both_ways)
    expected = {row.id: as_values(row) for row in by_sqlalchemy}
    assert [as_values(row) for row in read] == [expected[task_id] for task_id in ids]
    assert [as_values(row) for row in listed] == [as_values(row) for row in by_sqlalchemy]
    assert set(ids) <= set(expected)


def test_a_stale_token_version_reads_nothing(client: TestClient, user: Account) -> None:
    created = client.post(f"{API}/tasks", json={"title": "mine"}, headers=user.headers)
    state = app_of(client).state
    stale = state.codec.decode(user.access_token, expected=TokenType.ACCESS).version - 1
    owner_id, task_id = uuid.UUID(user.id), uuid.UUID(created.json()["id"])

    async def read() -> tuple[Any, Any]:
        one = await tasks_repo.get_if_token_current(
            state.database, owner_id=owner_id, token_version=stale, task_id=task_id
        )
        page = await tasks_repo.list_page_if_token_current(
            state.database,
            owner_id=owner_id,
            token_version=stale,
            filters=TaskFilters(),
            sort=TaskSort.created_at_desc,
            page=Page(1, 20),
        )
        return one, page

    assert run_on_app(client, read) == (None, None)
