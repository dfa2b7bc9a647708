"""Fixtures: one real database per test session (a SQLite file, or a fresh PostgreSQL database when
TEST_DATABASE_URL is set), one app with its lifespan running, and users made through the API.

Every test starts from empty tables. Users and tokens come from the real endpoints, never from
rows written by hand.
"""

import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, delete, select

from app.core.config import Settings
from app.core.db import Database
from app.core.statements import NoRows, R, Statement
from app.domain.models import Task, TaskRecord, User
from app.main import create_app
from app.services import users as users_service
from tests.databases import postgres_test_database

T = TypeVar("T")
API = "/api/v1"
PASSWORD = "correct-horse-battery"
SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "ENVIRONMENT": "development",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        # Cheap hashing: the cost parameters are not what the tests are about.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST_KIB": 8,
        "LOG_LEVEL": "WARNING",
        # Limits on, but high enough that only the tests about them reach them.
        "RATE_LIMIT_LOGIN": "100000/minute",
        "RATE_LIMIT_DEFAULT": "100000/minute",
    }
    return Settings(_env_file=None, **(values | overrides))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with postgres_test_database() as url:
        if url is not None:
            yield url
            return
    path: Path = tmp_path_factory.mktemp("db") / "test.db"
    yield f"sqlite:///{path}"


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def sqlite_client(tmp_path: Path) -> Iterator[TestClient]:
    """The app on a SQLite file of its own, whatever database the suite runs on: for what only
    SQLite does."""
    with TestClient(create_app(make_settings(f"sqlite:///{tmp_path / 'app.db'}"))) as client:
        yield client


def app_of(client: TestClient) -> FastAPI:
    return cast(FastAPI, client.app)


def run_on_app(client: TestClient, function: Callable[[], Awaitable[T]]) -> T:
    """Run `function` on the app's event loop (its engine and sessions live there)."""
    assert client.portal is not None, "the client must be started (used as a context manager)"
    return client.portal.call(function)


# Databases that refuse every connection: a file in a directory that does not exist, and a port
# nothing listens on.
UNREACHABLE_DATABASE_URLS = [
    "sqlite:////nonexistent-dir/taskapi/db.sqlite",
    "postgresql+psycopg://postgres@127.0.0.1:1/test",
]


_TASK = Task.metadata.tables["task"]
_STORED_TASK = Statement(select(_TASK).where(_TASK.c.id == bindparam("task_id")), TaskRecord)
_WIPE = [Statement(delete(table), NoRows) for table in (_TASK, User.metadata.tables["user"])]


def execute(client: TestClient, statement: Any, record: type[R], **values: Any) -> list[R]:
    """Run one statement on the app's database (committed at once), as the app runs its own."""
    database: Database = app_of(client).state.database
    return run_on_app(client, lambda: database.write(Statement(statement, record), values))


async def stored_task(database: Database, task_id: uuid.UUID) -> TaskRecord | None:
    """The task as stored, whoever owns it (None if absent)."""
    rows = await database.read(_STORED_TASK, {"task_id": task_id})
    return rows[0] if rows else None


@contextmanager
def database_replaced(client: TestClient, url: str) -> Iterator[None]:
    """Point the running app at the database at `url` (no pool, no migrations) for a while."""
    state = app_of(client).state
    working = state.database
    state.database = Database.from_settings(make_settings(url))
    try:
        yield
    finally:
        run_on_app(client, state.database.dispose)
        state.database = working


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "client" not in request.fixturenames:
        return
    client: TestClient = request.getfixturevalue("client")

    wipe_tables(client)


def wipe_tables(client: TestClient) -> None:
    """Empty the tables (the users' keys go with them)."""

    async def wipe() -> None:
        async with app_of(client).state.database.transaction() as run:
            for statement in _WIPE:
                await run(statement, {})

    run_on_app(client, wipe)


@dataclass
class Account:
    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def register(client: TestClient, email: str | None = None, password: str = PASSWORD) -> Account:
    email = email or unique_email()
    created = client.post(f"{API}/auth/register", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    return log_in(client, email, password, user_id=created.json()["id"])


def log_in(client: TestClient, email: str, password: str = PASSWORD, user_id: str = "") -> Account:
    response = client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens = response.json()
    if not user_id:
        me = client.get(
            f"{API}/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        user_id = me.json()["id"]
    return Account(user_id, email, password, tokens["access_token"], tokens["refresh_token"])


def make_admin(client: TestClient, email: str | None = None) -> Account:
    """An admin made the way operators make one (the service behind `create-admin`)."""
    email = email or unique_email("admin")
    state = app_of(client).state

    async def create() -> None:
        await users_service.ensure_admin(
            state.database, state.hasher, email=email, password=PASSWORD
        )

    run_on_app(client, create)
    return log_in(client, email)


@pytest.fixture
def user(client: TestClient) -> Account:
    return register(client)


@pytest.fixture
def other_user(client: TestClient) -> Account:
    return register(client)


@pytest.fixture
def admin(client: TestClient) -> Account:
    return make_admin(client)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is the documented problem+json for `status`, and carries the request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == response.request.url.raw_path.decode().split("?")[0]
    assert body["request_id"] == response.headers["x-request-id"]
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    return body
