"""A database that cannot serve is the contract's 503 (problem+json with Retry-After), never a
500; nothing a refused request asked for is written, and the service recovers by itself when the
database is back. Every failure here is real: a refused connection, a lock held by another
connection."""

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

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


@pytest.mark.parametrize("url", UNREACHABLE_DATABASE_URLS)
def test_an_unreachable_database_is_a_503_on_every_kind_of_endpoint(
    client: TestClient, user: Account, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    task = create_task(client, user)
    account_requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"{API}/auth/register", {"json": {"email": unique_email(), "password": PASSWORD}}),
        ("POST", f"{API}/auth/login", {"json": {"email": user.email, "password": PASSWORD}}),
        ("GET", f"{API}/users/me", {"headers": user.headers}),
    ]
    with caplog.at_level(logging.WARNING, logger="app.core.db"), database_replaced(client, url):
        responses = [
            client.request(method, path, **kwargs)
            for method, path, kwargs in account_requests + task_requests(user, task)
        ]
    for response in responses:
        body = assert_problem(response, 503)
        assert body["detail"] == UNAVAILABLE
        assert response.headers["retry-after"] == "5"
    causes = [r for r in caplog.records if r.name == "app.core.db"]
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


Hold = Callable[[TestClient], AbstractContextManager[None]]


@pytest.fixture
def held_database(tmp_path: Path) -> Iterator[tuple[Settings, Hold]]:
    """A fresh database of the suite's kind, and a way for another connection to hold it."""
    with postgres_test_database() as url:
        if url is not None:
            locked_url = url
            yield (
                make_settings(url, DB_STATEMENT_TIMEOUT_MS=200),
                lambda _client: postgres_table_locked(locked_url),
            )
            return
    path = tmp_path / "held.db"
    yield make_settings(f"sqlite:///{path}"), lambda client: sqlite_file_held(client, path)


def test_a_database_another_connection_holds_is_a_503_busy_until_it_lets_go(
    held_database: tuple[Settings, Hold],
) -> None:
    settings, hold = held_database
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        account = register(client)
        task = create_task(client, account)
        assert_untouched(client, account, task)  # the reads have a connection open, too
        with hold(client):
            responses = [
                client.request(method, path, **kwargs)
                for method, path, kwargs in task_requests(account, task)
            ]
        for response in responses:
            body = assert_problem(response, 503)
            assert body["detail"] == BUSY
            assert response.headers["retry-after"] == "1"
        assert_untouched(client, account, task)
