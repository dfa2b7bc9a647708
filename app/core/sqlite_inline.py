"""SQLite under SQLAlchemy's asyncio API, with each call run inline on the event loop.

aiosqlite hands every call (cursor, execute, fetch, close, commit) to a thread of its own and
waits for the answer: a hop of 40-90 µs on a small VM, and a request makes ten or more of them,
while the indexed statements themselves take about 10 µs. SQLite is a library in this process,
not a server across a network, so a thread buys no concurrency (the GIL is held for the work
either way); it only adds the hand-off. This dialect keeps `AsyncEngine` and `AsyncSession` for
the app and runs the calls in place.

What must never block the loop is waiting for a lock, so connections use `busy_timeout=0`: in WAL
mode readers do not wait for writers, and a writer that finds the write lock taken is retried
with `asyncio.sleep` by `app.core.db` (its `begin` listener). Registered as `sqlite+inline`.
"""

import sqlite3
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import pool
from sqlalchemy.connectors.asyncio import (
    AsyncAdapt_dbapi_connection,
    AsyncAdapt_dbapi_module,
)
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine.url import URL
from sqlalchemy.util.concurrency import await_


class AsyncAdapt_inline_cursor:
    """A `sqlite3.Cursor` as SQLAlchemy's asyncio layer expects a cursor: its rows are fetched as
    the statement runs (results are read after the call returns).

    Executing passes through `await_` once, as SQLAlchemy's `AsyncConnection.execute` insists;
    fetching, closing, committing and rolling back are plain calls."""

    __slots__ = ("_cursor", "_rows")
    server_side = False

    def __init__(self, adapt_connection: "AsyncAdapt_inline_connection") -> None:
        self._cursor: sqlite3.Cursor = adapt_connection._connection.cursor()
        self._rows: deque[Any] = deque()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    def execute(self, operation: str, parameters: Any = None) -> None:
        await_(self._execute(operation, () if parameters is None else parameters))

    def executemany(self, operation: str, seq_of_parameters: Iterable[Any]) -> None:
        await_(self._executemany(operation, seq_of_parameters))

    async def _execute(self, operation: str, parameters: Any) -> None:
        self._cursor.execute(operation, parameters)
        if self._cursor.description:
            self._rows = deque(self._cursor.fetchall())

    async def _executemany(self, operation: str, seq_of_parameters: Iterable[Any]) -> None:
        self._cursor.executemany(operation, seq_of_parameters)

    async def _async_soft_close(self) -> None:
        """Called by SQLAlchemy's asyncio results; the rows are already fetched."""

    def close(self) -> None:
        self._rows.clear()
        self._cursor.close()

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(self.arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class AsyncAdapt_inline_connection(AsyncAdapt_dbapi_connection):
    """A `sqlite3.Connection` behind SQLAlchemy's asyncio connection interface, called inline.

    Only `run_async` (used to sleep while waiting for the write lock, see app.core.db) goes
    through the event loop."""

    __slots__ = ()
    _connection: Any  # a sqlite3.Connection, where the base class expects an awaitable one

    def cursor(self, server_side: bool = False) -> Any:
        return AsyncAdapt_inline_cursor(self)

    @property
    def isolation_level(self) -> Any:
        return self._connection.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._connection.isolation_level = value

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._connection.create_function(*args, **kwargs)

    def commit(self) -> None:
        self._connection.commit()

    def rollback(self) -> None:
        self._connection.rollback()

    def close(self) -> None:
        self._connection.close()


class AsyncAdapt_inline_dbapi(AsyncAdapt_dbapi_module):
    """sqlite3 as the dialect sees it: its exceptions and constants, and an adapting `connect`."""

    paramstyle = "qmark"

    def __init__(self) -> None:
        super().__init__(sqlite3, dbapi_module=sqlite3)
        for name in (
            "DatabaseError",
            "Error",
            "IntegrityError",
            "NotSupportedError",
            "OperationalError",
            "ProgrammingError",
            "sqlite_version",
            "sqlite_version_info",
            "PARSE_COLNAMES",
            "PARSE_DECLTYPES",
            "Binary",
        ):
            setattr(self, name, getattr(sqlite3, name))

    def connect(self, *args: Any, **kwargs: Any) -> AsyncAdapt_inline_connection:
        # The pool hands a connection to one task at a time; tests may run loops on other threads.
        kwargs["check_same_thread"] = False
        kwargs["timeout"] = 0  # never wait for a lock inside SQLite (see app.core.db)
        return AsyncAdapt_inline_connection(self, sqlite3.connect(*args, **kwargs))


class SQLiteDialect_inline(SQLiteDialect_pysqlite):
    driver = "inline"
    is_async = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return AsyncAdapt_inline_dbapi()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool

    def get_driver_connection(self, connection: Any) -> Any:
        return connection.driver_connection


registry.register("sqlite.inline", __name__, "SQLiteDialect_inline")
