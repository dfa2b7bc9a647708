"""The PostgreSQL runner: asyncpg, a pool per process, prepared statements.

asyncpg speaks PostgreSQL's binary protocol and keeps each connection's statements prepared (an
LRU of STATEMENT_CACHE_SIZE by SQL text), so a statement costs one round trip and no parsing on
the server after its first use; UUIDs and timestamps arrive as Python objects made in C. Here it
ran a query for a third of psycopg 3's CPU (20 µs against 59 µs, prepared, 32 connections). A
single-statement read or write runs in autocommit: one round trip, no BEGIN and COMMIT; a
transaction of several statements is READ COMMITTED.

Each connection has `statement_timeout` set, so a statement that waits on a lock or runs away is
cancelled and the request is a 503.
"""

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, NoReturn

import asyncpg
from sqlalchemy import make_url
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from app.core.runner import Rows, RunSQL, UniqueViolation, busy, unavailable

Connection = asyncpg.Connection

logger = logging.getLogger(__name__)

STATEMENT_CACHE_SIZE = 256  # prepared statements per connection: every statement the app has
POOL_TIMEOUT_S = 30.0  # how long a request waits for a connection of a full pool
# Statement timeout, lock not available, serialization failure, deadlock.
CONTENTION_SQLSTATES = frozenset({"57014", "55P03", "40001", "40P01"})
# Connection exceptions (class 08), insufficient resources (53), the server shutting down or
# starting (57P01-57P03).
UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "53", "57P")
UNIQUE_VIOLATION = "23505"


def asyncpg_dsn(url: str) -> str:
    """The libpq-style URL asyncpg reads, from the SQLAlchemy URL of DATABASE_URL
    (`postgresql+psycopg://...`, the form Alembic connects with)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _raise_for(error: BaseException, *, outcome_known: bool = True) -> NoReturn:
    """The app's error for a failed statement (app.core.runner), by SQLSTATE. A connection that
    broke while a statement ran in autocommit leaves its outcome unknown (`outcome_known`
    False for a write): then the error stays a 500, as for a failed COMMIT."""
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate == UNIQUE_VIOLATION:
        raise UniqueViolation(str(error)) from error
    lost = isinstance(error, OSError | TimeoutError | asyncpg.PostgresConnectionError)
    if sqlstate in CONTENTION_SQLSTATES:
        contended = True
    elif lost or (sqlstate or "").startswith(UNAVAILABLE_SQLSTATE_PREFIXES):
        if not outcome_known and isinstance(error, OSError | asyncpg.PostgresConnectionError):
            raise error
        contended = False
    else:
        raise error
    logger.warning("the database could not serve a request: %s", error)
    raise (busy() if contended else unavailable()) from error


_FAILURES = (asyncpg.PostgresError, OSError, TimeoutError)


async def _run(connection: Connection, sql: str, parameters: Sequence[Any]) -> Rows:
    try:
        return [tuple(record) for record in await connection.fetch(sql, *parameters)]
    except _FAILURES as exc:
        _raise_for(exc)


class _Pool:
    """Up to `size` connections, opened when needed and kept open; a request takes one, and gives
    it back once it succeeded. A connection whose request failed (or was cancelled) might still
    be inside a statement, a transaction or a broken socket, so it is closed instead.

    asyncpg's own Pool costs ~24 µs a request more (holders, proxies, inactivity timers, a reset
    query or callback, a task per timed acquire): a tenth of a GET by id here."""

    def __init__(self, connect: Callable[[], Awaitable[Connection]], size: int) -> None:
        self._connect = connect
        self._size = size
        self._idle: list[Connection] = []
        self._open = 0  # connections open or being opened: at most `size`
        # Requests waiting, each handed a connection, or None: a slot to open one in.
        self._waiting: deque[asyncio.Future[Connection | None]] = deque()

    async def take(self) -> Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():
                return connection
            self._open -= 1
        if self._open < self._size:
            self._open += 1
        else:
            handed = await self._wait()
            if handed is not None:
                return handed
        try:
            return await self._connect()
        except BaseException:
            self._free_slot()
            raise

    async def _wait(self) -> Connection | None:
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(POOL_TIMEOUT_S):
                return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():  # handed over as the wait ended
                handed = waiter.result()
                if handed is None:
                    self._free_slot()
                else:
                    self.give_back(handed)
            elif waiter in self._waiting:
                self._waiting.remove(waiter)
            raise

    def give_back(self, connection: Connection) -> None:
        if connection.is_closed():
            self._free_slot()
        elif (waiter := self._next_waiter()) is not None:
            waiter.set_result(connection)
        else:
            self._idle.append(connection)

    def close_one(self, connection: Connection) -> None:
        connection.terminate()
        self._free_slot()

    def _free_slot(self) -> None:
        """A connection is gone: its slot goes to the next waiter, or back to the pool."""
        if (waiter := self._next_waiter()) is not None:
            waiter.set_result(None)
        else:
            self._open -= 1

    def _next_waiter(self) -> asyncio.Future[Connection | None] | None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                return waiter
        return None

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()


class PostgresRunner:
    """Statements on one PostgreSQL database (see the module docstring). No connection is
    opened before a request needs one: a server that is down at startup is a 503 per request,
    and the service recovers when it is back."""

    def __init__(self, url: str, *, max_connections: int, statement_timeout_ms: int) -> None:
        self.dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
        self._pool = _Pool(
            partial(
                asyncpg.connect,
                asyncpg_dsn(url),
                statement_cache_size=STATEMENT_CACHE_SIZE,
                server_settings={"statement_timeout": str(statement_timeout_ms)},
            ),
            max_connections,
        )

    @property
    def writing(self) -> bool:
        return False  # PostgreSQL queues writers itself

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        try:
            connection = await self._pool.take()
        except _FAILURES as exc:
            _raise_for(exc)
        try:
            yield connection
        except BaseException:
            self._pool.close_one(connection)
            raise
        self._pool.give_back(connection)

    async def read(self, sql: str, parameters: Sequence[Any]) -> Rows:
        async with self._connection() as connection:
            return await _run(connection, sql, parameters)

    async def write(self, sql: str, parameters: Sequence[Any]) -> Rows:
        async with self._connection() as connection:
            try:
                return [tuple(record) for record in await connection.fetch(sql, *parameters)]
            except _FAILURES as exc:
                _raise_for(exc, outcome_known=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[RunSQL]:
        """A failure rolls back: the connection is closed (see `_Pool`)."""
        async with self._connection() as connection:
            try:
                await connection.execute("BEGIN")
            except _FAILURES as exc:
                _raise_for(exc)
            yield partial(_run, connection)
            await connection.execute("COMMIT")  # a failure is a 500: the outcome is unknown

    async def close(self) -> None:
        await self._pool.close()
