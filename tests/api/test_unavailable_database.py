"""A database that cannot serve is the contract's 503 (problem+json with Retry-After), never a
500; nothing a refused request asked for is written, and the service recovers by itself when the
database is back. Every failure here is real: a refused connection, a lock held by another
connection. (A SQLite writer that waits past its deadline for the write lock is
tests/core/test_sqlite_locking.py's.) Errors that are bugs stay 500s."""

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url

from app.core.config import Settings
from app.main import create_app
from tests.conftest import (
    API,
    PASSWORD,
    UNREACHABLE_DATABASE_URLS,
    Account,
    app_of,
    assert_problem,
    database_replaced,
    make_settings,
    register,
    run_on_app,
    unique_email,
)
from tests.databases import postgres_test_database

BUSY = "The database is busy; try again shortly."
RUNNER_LOGGERS = {"app.core.sqlite", "app.core.postgres"}
UNAVAILABLE = "The database is unavailable; try again shortly."


def task_requests(account: Account, task: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """One request of each kind a task endpoint serves: list, read, create, update, delete."""
    at = f"{API}/tasks/{task['body']['id']}"
    headers = account.headers | {"If-Match": task["etag"]}
    return [
        ("GET", f"{API}/tasks", {"headers": account.headers}),
        ("GET", at, {"headers": account.headers}),
        ("POST", f"{API}/tasks", {"headers": account.headers, "json": {"title": "refused"}}),
        ("PATCH", at, {"headers": headers, "json": {"title": "refused"}}),
        ("DELETE", at, {"headers": headers}),
    ]


def create_task(client: TestClient, account: Account) -> dict[str, Any]:
    created = client.post(f"{API}/tasks", json={"title": "kept"}, headers=account.headers)
    assert created.status_code == 201, created.text
    return {"body": created.json(), "etag": created.headers["etag"]}


def assert_untouched(client: TestClient, account: Account, task: dict[str, Any]) -> None:
    listed = client.get(f"{API}/tasks", headers=account.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["tasks"] == [task["body"]]


@pytest.fixture
def not_a_database(tmp_path: Path) -> str:
    """A file whose header is not SQLite's (a database replaced or overwritten by mistake)."""
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"this is not a SQLite database" * 200)
    return f"sqlite:///{path}"


@pytest.mark.parametrize("url", UNREACHABLE_DATABASE_URLS)
def test_an_unreachable_database_is_a_503_on_every_kind_of_endpoint(
    client: TestClient, user: Account, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert_unavailable_for_every_kind_of_endpoint(client, user, url, caplog)


def test_a_file_that_is_not_a_database_is_a_503_on_every_kind_of_endpoint(
    client: TestClient, user: Account, not_a_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite reports it as SQLITE_NOTADB, which sqlite3 raises as a DatabaseError (not an
    OperationalError)."""
    assert_unavailable_for_every_kind_of_endpoint(client, user, not_a_database, caplog)


def assert_unavailable_for_every_kind_of_endpoint(
    client: TestClient, user: Account, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    task = create_task(client, user)
    account_requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"{API}/auth/register", {"json": {"email": unique_email(), "password": PASSWORD}}),
        ("POST", f"{API}/auth/login", {"json": {"email": user.email, "password": PASSWORD}}),
        ("GET", f"{API}/users/me", {"headers": user.headers}),
    ]
    with caplog.at_level(logging.WARNING, logger="app.core"), database_replaced(client, url):
        responses = [
            client.request(method, path, **kwargs)
            for method, path, kwargs in account_requests + task_requests(user, task)
        ]
    for response in responses:
        body = assert_problem(response, 503)
        assert body["detail"] == UNAVAILABLE
        assert response.headers["retry-after"] == "5"
    causes = [r for r in caplog.records if r.name in RUNNER_LOGGERS]
    assert len(causes) == len(responses)  # the operator sees why, once per refused request
    assert_untouched(client, user, task)


@contextmanager
def sqlite_file_held(client: TestClient, path: Path) -> Iterator[None]:
    """Another process holds the file in exclusive locking mode, as a backup or a VACUUM can.
    The app's connections are closed first: while one is open, the lock can't be taken."""
    run_on_app(client, app_of(client).state.database.dispose)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("PRAGMA locking_mode=EXCLUSIVE")
        other.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        other.close()


@contextmanager
def postgres_table_locked(url: str) -> Iterator[None]:
    """Another session holds the task table: statements on it wait for the statement timeout."""
    with psycopg.connect(url.replace("+psycopg", "", 1)) as other:
        other.execute("LOCK TABLE task IN ACCESS EXCLUSIVE MODE")
        yield
        other.rollback()


@pytest.fixture
def fresh_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings for a database of the suite's kind that no other test uses (PostgreSQL's with a
    200 ms statement timeout)."""
    with postgres_test_database() as url:
        if url is not None:
            yield make_settings(url, DB_STATEMENT_TIMEOUT_MS=200)
            return
    yield make_settings(f"sqlite:///{tmp_path / 'fresh.db'}")


def held(client: TestClient, settings: Settings) -> AbstractContextManager[None]:
    """Another connection holding the database: on SQLite the whole file (the app's connections
    are reopened then, so what fails is setting one up), on PostgreSQL the task table (so what
    fails is a statement, at the timeout)."""
    url = make_url(settings.DATABASE_URL)
    if settings.is_sqlite:
        return sqlite_file_held(client, Path(str(url.database)))
    return postgres_table_locked(settings.DATABASE_URL)


def test_a_database_another_connection_holds_is_a_503_busy_until_it_lets_go(
    fresh_settings: Settings,
) -> None:
    with TestClient(create_app(fresh_settings), raise_server_exceptions=False) as client:
        account = register(client)
        task = create_task(client, account)
        assert_untouched(client, account, task)  # the reads have a connection open, too
        with held(client, fresh_settings):
            responses = [
                client.request(method, path, **kwargs)
                for method, path, kwargs in task_requests(account, task)
            ]
        for response in responses:
            body = assert_problem(response, 503)
            assert body["detail"] == BUSY
            assert response.headers["retry-after"] == "1"
        assert_untouched(client, account, task)


def test_a_schema_the_statements_do_not_match_is_a_500_not_an_outage(
    fresh_settings: Settings,
) -> None:
    """sqlite3 raises OperationalError for SQL the schema does not match, as it does for a busy
    file; that is a bug to fix, not a database to wait for (PostgreSQL calls it a
    ProgrammingError)."""
    with TestClient(create_app(fresh_settings), raise_server_exceptions=False) as client:
        account = register(client)
        task = create_task(client, account)
        engine = create_engine(fresh_settings.DATABASE_URL)
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE task RENAME COLUMN title TO name")
        engine.dispose()
        *naming_the_column, _delete = task_requests(account, task)
        for method, path, kwargs in naming_the_column:
            response = client.request(method, path, **kwargs)
            assert_problem(response, 500)
            assert "retry-after" not in response.headers


def test_text_sqlite_cannot_decode_is_a_500_problem(tmp_path: Path) -> None:
    """sqlite3 raises that OperationalError without a SQLite result code."""
    path = tmp_path / "undecodable.db"
    with TestClient(
        create_app(make_settings(f"sqlite:///{path}")), raise_server_exceptions=False
    ) as client:
        account = register(client)
        task = create_task(client, account)
        with sqlite3.connect(path) as other:
            other.execute("UPDATE task SET title = CAST(x'ff' AS TEXT)")
        other.close()
        assert_problem(
            client.get(f"{API}/tasks/{task['body']['id']}", headers=account.headers), 500
        )
        assert_problem(client.get(f"{API}/tasks", headers=account.headers), 500)
