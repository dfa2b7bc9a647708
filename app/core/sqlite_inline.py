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
from collections.abc import Iterable
from typing import Any

from sqlalchemy import pool
from sqlalchemy.connectors.asyncio import (
    AsyncAdapt_dbapi_connection,
    AsyncAdapt_dbapi_module,
)
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine.url import URL


class _Cursor:
    """The awaitable cursor interface SQLAlchemy's adapter expects, over a `sqlite3.Cursor`."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> "_Cursor":
        return self

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

    async def execute(self, operation: str, parameters: Any = ()) -> None:
        self._cursor.execute(operation, parameters)

    async def executemany(self, operation: str, seq_of_parameters: Iterable[Any]) -> None:
        self._cursor.executemany(operation, seq_of_parameters)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Connection:
    """The awaitable connection interface SQLAlchemy's adapter expects, over `sqlite3`."""

    __slots__ = ("_connection",)

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def cursor(self) -> _Cursor:
        return _Cursor(self._connection.cursor())

    async def commit(self) -> None:
        self._connection.commit()

    async def rollback(self) -> None:
        self._connection.rollback()

    async def close(self) -> None:
        self._connection.close()


class AsyncAdapt_inline_connection(AsyncAdapt_dbapi_connection):
    __slots__ = ()
    _connection: Any  # a _Connection

    @property
    def isolation_level(self) -> str | None:
        return self._connection._connection.isolation_level  # type: ignore[no-any-return]

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection._connection.isolation_level = value

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._connection._connection.create_function(*args, **kwargs)


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
        connection: Any = _Connection(sqlite3.connect(*args, **kwargs))  # duck-typed for SQLAlchemy
        return AsyncAdapt_inline_connection(self, connection)


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
        return connection._connection._connection


registry.register("sqlite.inline", __name__, "SQLiteDialect_inline")
