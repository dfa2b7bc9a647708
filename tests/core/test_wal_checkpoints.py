"""The server checkpoints SQLite's WAL in a worker thread, every CHECKPOINT_EVERY_WRITES committed
writes: SQLite's own checkpoint runs in the connection whose commit crosses its threshold, on the
event loop here, and syncs the files while no request is served. Its own stays only as a bound
on the WAL (WAL_AUTOCHECKPOINT_PAGES)."""

import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import NamedTuple

from fastapi.testclient import TestClient
from sqlalchemy import column, text

from app.core.sqlite import CHECKPOINT_EVERY_WRITES, WAL_AUTOCHECKPOINT_PAGES
from app.main import create_app
from tests.conftest import API, execute, make_settings, register
from tests.pages import every_item


def tasks_in_file(path: Path) -> int | None:
    """The tasks in the database file itself: what the WAL holds that no checkpoint has copied
    yet is not read (immutable=1). None when the read met pages a checkpoint was writing at that
    moment: immutable=1 also means no locks, so SQLite reports such a read as a malformed file
    (or, for a torn first page, as no database)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as connection:
            count: int = connection.execute("SELECT count(*) FROM task").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode not in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            raise
        return None
    return count


def test_committed_writes_reach_the_database_file_by_a_checkpoint_of_the_server(
    tmp_path: Path,
) -> None:
    path = tmp_path / "wal.db"
    with TestClient(create_app(make_settings(f"sqlite:///{path}"))) as client:
        account = register(client)
        created = client.post(f"{API}/tasks", json={"title": "first"}, headers=account.headers)
        assert created.status_code == 201, created.text
        assert tasks_in_file(path) == 0  # in the WAL only
        for i in range(CHECKPOINT_EVERY_WRITES):
            body = {"title": f"task {i}"}
            response = client.post(f"{API}/tasks", json=body, headers=account.headers)
            assert response.status_code == 201, response.text
        deadline = time.monotonic() + 10  # the checkpoint runs in the background: wait for it
        in_file = tasks_in_file(path)
        while not in_file and time.monotonic() < deadline:
            time.sleep(0.01)
            in_file = tasks_in_file(path)
        assert in_file
        assert len(every_item(client.get, f"{API}/tasks", account.headers, per_page=100)) == 101


class Pages(NamedTuple):
    wal_autocheckpoint: int


def test_sqlite_checkpoints_by_itself_only_past_the_bound(sqlite_client: TestClient) -> None:
    setting = execute(
        sqlite_client,
        text("PRAGMA wal_autocheckpoint").columns(column("wal_autocheckpoint")),
        Pages,
    )
    assert setting == [(WAL_AUTOCHECKPOINT_PAGES,)]
