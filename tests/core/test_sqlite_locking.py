"""SQLite runs inline on the event loop (app.core.sqlite), so a writer must wait for the
write lock on the loop, never inside SQLite: other requests go on meanwhile, and a lock held past
SQLITE_BUSY_TIMEOUT_MS is the documented 503, not a 500. Slow work (password hashing) happens
before a write transaction opens, so it never holds the lock."""

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.concurrency import run_in_threadpool

from app.core.config import Settings
from app.core.db import Database
from app.core.security import PasswordHasher
from app.main import create_app
from app.repositories import tasks as tasks_repo
from app.services import idempotency
from tests.conftest import (
    API,
    PASSWORD,
    app_of,
    assert_problem,
    make_settings,
    register,
    run_on_app,
    unique_email,
)
from tests.pages import every_item


@contextmanager
def sqlite_client(path: Path, busy_timeout_ms: int) -> Iterator[TestClient]:
    settings = make_settings(f"sqlite:///{path}", SQLITE_BUSY_TIMEOUT_MS=busy_timeout_ms)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "locking.db"


@pytest.fixture
def other(database_path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's connection, as SQLite sees it: `BEGIN IMMEDIATE` on it takes the write
    lock from the server. Rolled back and closed at the end of the test."""
    connection = sqlite3.connect(database_path, isolation_level=None, check_same_thread=False)
    yield connection
    connection.rollback()
    connection.close()


# A create is one statement committed at once (Database.write); with an Idempotency-Key it is a
# transaction that commits its claim on the key first.
WRITE_PATHS = pytest.mark.parametrize("key", [None, "once"], ids=["one-statement", "transaction"])


@WRITE_PATHS
def test_a_lock_held_past_the_timeout_is_a_503_with_retry_after(
    database_path: Path, other: sqlite3.Connection, key: str | None
) -> None:
    with sqlite_client(database_path, busy_timeout_ms=200) as client:
        account = register(client)
        other.execute("BEGIN IMMEDIATE")
        headers = account.headers | ({} if key is None else {"Idempotency-Key": key})
        busy = client.post(f"{API}/tasks", json={"title": "blocked"}, headers=headers)
        listed = client.get(f"{API}/tasks", headers=account.headers)
        other.rollback()
        body = assert_problem(busy, 503)
        assert busy.headers["retry-after"] == "1"
        assert "busy" in body["detail"]
        assert listed.status_code == 200  # readers never wait for the write lock
        after = client.post(f"{API}/tasks", json={"title": "after"}, headers=headers)
        assert after.status_code == 201, after.text  # a refused create left its key unclaimed
        titles = [
            t["title"] for t in client.get(f"{API}/tasks", headers=account.headers).json()["tasks"]
        ]
        assert titles == ["after"]


@WRITE_PATHS
def test_a_waiting_writer_does_not_block_the_event_loop(
    database_path: Path, other: sqlite3.Connection, key: str | None
) -> None:
    with sqlite_client(database_path, busy_timeout_ms=60_000) as client:
        account = register(client)
        headers = account.headers | ({} if key is None else {"Idempotency-Key": key})
        database: Database = app_of(client).state.database
        other.execute("BEGIN IMMEDIATE")
        # A safety net: were the loop blocked, the read below would hang until this fires.
        safety_net = threading.Timer(30, other.rollback)
        safety_net.start()
        with ThreadPoolExecutor(max_workers=1) as pool:
            create = pool.submit(
                client.post, f"{API}/tasks", json={"title": "waits"}, headers=headers
            )
            while not database.writing and not create.done():
                threading.Event().wait(0.01)
            read = client.get(f"{API}/tasks", headers=account.headers)
            assert read.status_code == 200
            assert not create.done()  # still waiting for the lock, on the loop
            safety_net.cancel()
            other.rollback()
            assert create.result().status_code == 201
        assert len(every_item(client.get, f"{API}/tasks", account.headers)) == 1


class GatedHasher(PasswordHasher):
    """Hashes a new password only when the test lets it, and says when one has started."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.started = threading.Event()
        self.go = threading.Event()

    async def hash(self, password: str) -> str:
        self.started.set()
        await run_in_threadpool(self.go.wait, 30)
        return await super().hash(password)


@pytest.mark.parametrize("operation", ["register", "change_password"])
def test_hashing_a_password_does_not_hold_the_write_lock(
    database_path: Path, operation: str
) -> None:
    with sqlite_client(database_path, busy_timeout_ms=60_000) as client:
        account, other = register(client), register(client)
        app = app_of(client)
        database: Database = app.state.database
        hasher = app.state.hasher = GatedHasher(app.state.settings)
        if operation == "register":
            send = lambda: client.post(  # noqa: E731
                f"{API}/auth/register", json={"email": unique_email(), "password": PASSWORD}
            )
        else:
            body = {"current_password": PASSWORD, "new_password": "another-long-password"}
            send = lambda: client.put(  # noqa: E731
                f"{API}/users/me/password", json=body, headers=account.headers
            )
        with ThreadPoolExecutor(max_workers=1) as pool:
            hashing = pool.submit(send)
            assert hasher.started.wait(30)
            assert not database.writing  # no write transaction holds (or waits for) the lock
            created = client.post(f"{API}/tasks", json={"title": "x"}, headers=other.headers)
            assert created.status_code == 201, created.text
            hasher.go.set()
            assert hashing.result().status_code in (201, 204)


def test_the_timeout_bounds_the_whole_wait_including_this_process_queue(
    database_path: Path, other: sqlite3.Connection
) -> None:
    """Writers queued behind each other in this process share the one deadline: 30 of them,
    with a 0.5 s timeout, are all answered 503 long before the lock is released (at 10 s;
    were the queue unbounded, the last ones would wait 15 s and get through)."""
    with sqlite_client(database_path, busy_timeout_ms=500) as client:
        account = register(client)
        other.execute("BEGIN IMMEDIATE")
        release = threading.Timer(10, other.rollback)
        release.start()

        def create(i: int) -> int:
            body = {"title": f"queued {i}"}
            status: int = client.post(
                f"{API}/tasks", json=body, headers=account.headers
            ).status_code
            return status

        with ThreadPoolExecutor(max_workers=30) as pool:
            statuses = list(pool.map(create, range(30)))
        release.cancel()
        assert statuses == [503] * 30


def test_a_transaction_begun_midway_waits_for_the_lock_too(
    database_path: Path, other: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idempotent create commits its claim on the key, then begins again: another process
    taking the lock in between makes the create wait, not fail (and not strand the key)."""
    claim = idempotency.claim

    async def claim_then_lose_the_lock(*args: object, **kwargs: object) -> object:
        claimed = await claim(*args, **kwargs)  # type: ignore[arg-type]
        other.execute("BEGIN IMMEDIATE")  # another process's write transaction...
        threading.Timer(0.3, other.rollback).start()  # ...that lasts 0.3 s
        return claimed

    with sqlite_client(database_path, busy_timeout_ms=15_000) as client:
        account = register(client)
        monkeypatch.setattr(idempotency, "claim", claim_then_lose_the_lock)
        headers = account.headers | {"Idempotency-Key": "midway"}
        created = client.post(f"{API}/tasks", json={"title": "once"}, headers=headers)
        monkeypatch.undo()
        replayed = client.post(f"{API}/tasks", json={"title": "once"}, headers=headers)
    assert created.status_code == 201, created.text
    assert replayed.status_code == 201
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == created.json()


def test_a_write_inside_a_writing_unit_of_work_is_refused_at_once(database_path: Path) -> None:
    """This process's write turn is not re-entrant: `Database.write` inside a writing unit of
    work of the same request would wait for itself until the deadline, then answer 503. That is
    a bug in the caller, so it fails at once, and the turn is free afterwards."""
    with sqlite_client(database_path, busy_timeout_ms=60_000) as client:
        account = register(client)
        database: Database = app_of(client).state.database

        async def write_inside_a_unit_of_work() -> None:
            async with database.transaction():
                await tasks_repo.delete_if_current(
                    database.write,
                    owner_id=uuid.uuid4(),
                    token_version=0,
                    task_id=uuid.uuid4(),
                    expected_versions=None,
                )

        with pytest.raises(RuntimeError, match="inside a write transaction"):
            run_on_app(client, write_inside_a_unit_of_work)
        assert not database.writing
        after = client.post(f"{API}/tasks", json={"title": "after"}, headers=account.headers)
        assert after.status_code == 201, after.text
