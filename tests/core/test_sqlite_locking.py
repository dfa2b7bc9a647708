"""SQLite runs inline on the event loop (app.core.sqlite_inline), so a writer must wait for the
write lock on the loop, never inside SQLite: other requests go on meanwhile, and a lock held past
SQLITE_BUSY_TIMEOUT_MS is the documented 503, not a 500."""

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.db import Database
from app.main import create_app
from tests.conftest import API, app_of, assert_problem, make_settings, register


@contextmanager
def sqlite_client(path: Path, busy_timeout_ms: int) -> Iterator[TestClient]:
    settings = make_settings(f"sqlite:///{path}", SQLITE_BUSY_TIMEOUT_MS=busy_timeout_ms)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@contextmanager
def write_lock_held_elsewhere(path: Path) -> Iterator[None]:
    """Another process's writer, as SQLite sees it: a connection inside BEGIN IMMEDIATE."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.rollback()
        other.close()


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "locking.db"


def test_a_lock_held_past_the_timeout_is_a_503_with_retry_after(database_path: Path) -> None:
    with sqlite_client(database_path, busy_timeout_ms=200) as client:
        account = register(client)
        with write_lock_held_elsewhere(database_path):
            busy = client.post(f"{API}/tasks", json={"title": "blocked"}, headers=account.headers)
            listed = client.get(f"{API}/tasks", headers=account.headers)
        body = assert_problem(busy, 503)
        assert busy.headers["retry-after"] == "1"
        assert "busy" in body["detail"]
        assert listed.status_code == 200  # readers never wait for the write lock
        after = client.post(f"{API}/tasks", json={"title": "after"}, headers=account.headers)
        assert after.status_code == 201, after.text
        titles = [
            t["title"] for t in client.get(f"{API}/tasks", headers=account.headers).json()["tasks"]
        ]
        assert titles == ["after"]


def test_a_waiting_writer_does_not_block_the_event_loop(database_path: Path) -> None:
    with sqlite_client(database_path, busy_timeout_ms=60_000) as client:
        account = register(client)
        database: Database = app_of(client).state.database
        other = sqlite3.connect(database_path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        # A safety net: were the loop blocked, the read below would hang until this fires.
        safety_net = threading.Timer(30, other.rollback)
        safety_net.start()
        with ThreadPoolExecutor(max_workers=1) as pool:
            create = pool.submit(
                client.post, f"{API}/tasks", json={"title": "waits"}, headers=account.headers
            )
            while not database.writing and not create.done():
                threading.Event().wait(0.01)
            read = client.get(f"{API}/tasks", headers=account.headers)
            assert read.status_code == 200
            assert not create.done()  # still waiting for the lock, on the loop
            safety_net.cancel()
            other.rollback()
            assert create.result().status_code == 201
        other.close()
        assert client.get(f"{API}/tasks", headers=account.headers).json()["total"] == 1
