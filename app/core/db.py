"""Engines and sessions. Nothing outside this module knows which driver or dialect is in use.

SQLite is set up for a server: WAL (readers never block the writer), foreign keys, and explicit
transactions. Requests that write begin with `BEGIN IMMEDIATE`, so a writer takes the lock up
front instead of failing (or losing an update) when it upgrades a stale read snapshot. The server
runs SQLite inline on the event loop (app.core.sqlite_inline), so its connections never wait
inside SQLite (`busy_timeout=0`): a writer that finds the lock taken by another process sleeps on
the loop and tries again, for up to SQLITE_BUSY_TIMEOUT_MS, and then answers 503. For the same
reason the server checkpoints the WAL in a worker thread (see `Database._committed`).

A database that cannot serve a request (unreachable, too slow for its statement timeout, its pool
exhausted, or a SQLite file another process holds locked) is the contract's 503 as well, never a
500: every unit of work, read and write turns those errors into `ServiceUnavailable` (see
`_raise_for`).
"""

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from functools import partial
from itertools import chain, repeat
from typing import Any, NoReturn, Protocol, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql import Executable
from sqlalchemy.util.concurrency import await_
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import Settings
from app.core.sqlite_direct import (
    Query,
    SQLiteCheckpoints,
    SQLiteReads,
    SQLiteWrites,
    is_busy,
    sqlite_code,
)
from app.core.sqlite_inline import SQLiteDialect_inline  # registers the sqlite+inline dialect
from app.domain.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

WRITE_OPTION = "taskapi_write"
# Event-loop time by which a write transaction must have SQLite's write lock (see on_begin).
LOCK_DEADLINE_OPTION = "taskapi_lock_deadline"
# Waits between attempts at SQLite's write lock: short at first, as transactions are short.
LOCK_RETRY_DELAYS_S = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
# PostgreSQL errors of a statement that waited or conflicted: statement timeout, lock not
# available, serialization failure, deadlock.
CONTENTION_SQLSTATES = frozenset({"57014", "55P03", "40001", "40P01"})
# SQLite checkpoints the WAL in the connection whose commit takes it past this many pages. On the
# server that is a request's, on the event loop: 17 ms or more (it syncs both files) in which no
# request is served, every 1000 pages by default. The server checkpoints in a worker thread
# instead, every CHECKPOINT_EVERY_WRITES committed write transactions (a new task is ~6 pages),
# so SQLite's own only bounds the WAL (40 MiB of 4 KiB pages): under a steady stream of writes
# the thread's checkpoints never find the WAL idle, and only SQLite's let it start over.
WAL_AUTOCHECKPOINT_PAGES = 10_000
CHECKPOINT_EVERY_WRITES = 100
# SQLite's primary result codes of a file that another connection holds ...
SQLITE_CONTENTION = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
# ... and of a file that cannot serve (missing, unreadable, full, corrupt, out of memory). Other
# codes (SQLITE_ERROR: SQL the schema does not match) are bugs, and stay 500s.
SQLITE_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_READONLY,
    }
)


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _prepare_sqlite_connection(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    """Set up a new SQLite connection (sqlite3's, or the inline dialect's adapter of it)."""
    # Transactions begin when we say so: SQLAlchemy's (see "begin" below), or the reads' own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    mode = cursor.fetchone()[0]
    if mode not in ("wal", "memory"):  # readers would wait for writers
        raise RuntimeError(f"SQLite refused WAL mode (journal_mode={mode})")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()
    # SQLite's lower() folds only A-Z; searches are case-insensitive for every script, as they
    # are on PostgreSQL.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        _prepare_sqlite_connection(dbapi_connection, busy_timeout_ms)

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        # A request's BEGIN goes to the driver's connection: through SQLAlchemy it costs as much
        # as a query. (SQLAlchemy does not wrap errors raised here: `_unit_of_work` takes
        # sqlite3's own.)
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        options = connection.get_execution_options()
        if not options.get(WRITE_OPTION, False):
            driver.execute("BEGIN")
        elif (deadline := options.get(LOCK_DEADLINE_OPTION)) is None:
            # Migrations and command-line tools: waits in SQLite (busy_timeout), and a timeout
            # is SQLAlchemy's OperationalError, as for any statement.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            _begin_immediate_by(connection, driver, deadline)


def _begin_immediate_by(
    connection: Connection, driver: sqlite3.Connection, deadline: float
) -> None:
    """`_take_write_lock` for a unit of work's connection: it runs inside SQLAlchemy's sync code,
    so its sleeps are awaited through the greenlet that runs that code."""
    await_(_take_write_lock(partial(driver.execute, "BEGIN IMMEDIATE"), deadline))


async def _take_write_lock(begin: Callable[[], object], deadline: float) -> None:
    """`begin()` (a BEGIN IMMEDIATE on a connection that must not wait inside SQLite,
    busy_timeout=0): while another process holds the write lock, sleep on the event loop and
    try again, until `deadline` (event-loop time); then the request is a 503."""
    loop = asyncio.get_running_loop()
    delays = chain(LOCK_RETRY_DELAYS_S, repeat(LOCK_RETRY_DELAYS_S[-1]))
    while True:
        try:
            begin()
            return
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            delay = next(delays)
            if loop.time() + delay > deadline:
                raise _busy() from exc
        await asyncio.sleep(delay)


def _busy() -> ServiceUnavailable:
    return ServiceUnavailable("The database is busy; try again shortly.", retry_after=1)


DatabaseFailure = (DBAPIError, PoolTimeout, sqlite3.DatabaseError)


def _raise_for(error: DBAPIError | PoolTimeout | sqlite3.DatabaseError) -> NoReturn:
    """Raise the 503 for a database that could not serve a statement, or `error` itself when it
    is a bug rather than the database's state (it stays a 500). SQLite's errors are told apart
    by result code: sqlite3 raises OperationalError both for a file another connection holds and
    for SQL that does not match the schema, and DatabaseError for a file that is not a database.
    Elsewhere OperationalError is the DB-API's class for failures outside the statement's
    control (a refused or lost connection, a statement timeout, a deadlock); the driver's other
    errors (a constraint, bad data, bad SQL) are the statement's. Contention is "busy" (retry
    soon), the rest "unavailable"."""
    driver_error = error.orig if isinstance(error, DBAPIError) else error
    if isinstance(driver_error, sqlite3.Error):
        code = sqlite_code(driver_error)
        if code not in SQLITE_CONTENTION | SQLITE_UNAVAILABLE:
            raise error
        contended = code in SQLITE_CONTENTION
    elif isinstance(error, OperationalError | PoolTimeout):
        contended = getattr(driver_error, "sqlstate", None) in CONTENTION_SQLSTATES
    else:
        raise error
    logger.warning("the database could not serve a request: %s", driver_error)
    if contended:
        raise _busy() from error
    unavailable = "The database is unavailable; try again shortly."
    raise ServiceUnavailable(unavailable, retry_after=5) from error


def _configure_postgresql(engine: Engine, statement_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
        cursor.close()
        dbapi_connection.commit()


def _configure(engine: Engine, settings: Settings, *, sqlite_busy_timeout_ms: int) -> None:
    if settings.is_sqlite:
        _configure_sqlite(engine, sqlite_busy_timeout_ms)
    else:
        _configure_postgresql(engine, settings.DB_STATEMENT_TIMEOUT_MS)


def create_db_engine(settings: Settings) -> AsyncEngine:
    settings.ensure_sqlite_directory()
    engine = create_async_engine(
        settings.async_database_url,
        # A SQLite file cannot drop a connection; a PostgreSQL server (or a proxy) can.
        pool_pre_ping=not settings.is_sqlite,
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
        # Statement parameters (password hashes, emails) never reach an error log.
        hide_parameters=True,
    )
    _configure(engine.sync_engine, settings, sqlite_busy_timeout_ms=0)
    return engine


def create_sync_engine(settings: Settings) -> Engine:
    """A blocking engine for migrations and command-line tools, configured like the server's."""
    settings.ensure_sqlite_directory()
    engine = create_engine(settings.DATABASE_URL, pool_pre_ping=True, hide_parameters=True)
    _configure(engine, settings, sqlite_busy_timeout_ms=settings.SQLITE_BUSY_TIMEOUT_MS)
    return engine


# Whether the running task holds its process's write turn (see `Database._write_turn`).
_HOLDS_WRITE_TURN: ContextVar[bool] = ContextVar("taskapi_holds_write_turn", default=False)


class _UnitOfWork(Protocol):
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


_U = TypeVar("_U", bound=_UnitOfWork)


class Database:
    """The engine and the units of work a request can open: an ORM session (account endpoints,
    which work on `User` objects) or a Core connection (an idempotent create). Either is one
    transaction: committed when the caller finishes, rolled back if it raises. Requests that
    only read, in one or two statements, use `read` instead, and requests that write one
    statement `write`: on a SQLite file both run on sqlite3 directly (app.core.sqlite_direct).

    On SQLite, writing transactions of this process also queue on an asyncio lock, first come,
    first served, so that they meet other processes' writers at the file lock one at a time."""

    def __init__(self, engine: AsyncEngine, *, lock_timeout_s: float = 15.0) -> None:
        self.engine = engine
        self._write_queue = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._lock_timeout_s = lock_timeout_s
        self._writer_engine = engine.execution_options(**{WRITE_OPTION: True})
        self._sessions = async_sessionmaker(class_=AsyncSession, expire_on_commit=False)
        self._reads: SQLiteReads | None = None
        self._writes: SQLiteWrites | None = None
        self._checkpoints: SQLiteCheckpoints | None = None
        self._writes_since_checkpoint = 0
        self._checkpointing: asyncio.Task[None] | None = None
        if engine.dialect.name == "sqlite" and SQLiteDialect_inline._is_url_file_db(engine.url):
            # The file (and URI flags) SQLAlchemy would open; never wait for a lock inside
            # SQLite (see the module docstring).
            [filename], options = engine.dialect.create_connect_args(engine.url)
            connect_options: dict[str, Any] = {**options, "timeout": 0, "check_same_thread": False}
            direct = (
                partial(sqlite3.connect, filename, **connect_options),
                engine.dialect,
                partial(_prepare_sqlite_connection, busy_timeout_ms=0),
            )
            self._reads = SQLiteReads(*direct)
            self._writes = SQLiteWrites(*direct)
            self._checkpoints = SQLiteCheckpoints(*direct)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Database":
        return cls(
            create_db_engine(settings), lock_timeout_s=settings.SQLITE_BUSY_TIMEOUT_MS / 1000
        )

    @property
    def writing(self) -> bool:
        """Whether a write transaction of this process holds, or waits for, the SQLite lock."""
        return self._write_queue is not None and self._write_queue.locked()

    def session(self, *, write: bool) -> AbstractAsyncContextManager[AsyncSession]:
        """An ORM session (several transactions, for a caller that commits midway)."""
        return self._unit_of_work(lambda bind: self._sessions(bind=bind), write=write)

    def connection(self, *, write: bool) -> AbstractAsyncContextManager[AsyncConnection]:
        """A Core connection (several transactions, for a caller that commits midway)."""
        return self._unit_of_work(AsyncEngine.connect, write=write)

    @asynccontextmanager
    async def _write_turn(self) -> AsyncIterator[float | None]:
        """This process's turn to write: on SQLite, first in, first served, and held until the
        caller is done. Yields the event-loop time by which the caller must have SQLite's
        write lock (the turn and the lock take at most SQLITE_BUSY_TIMEOUT_MS in all), or None
        on a database without the queue."""
        queue = self._write_queue
        if queue is None:
            yield None
            return
        if _HOLDS_WRITE_TURN.get():
            # The turn is not re-entrant: this would wait for itself until the deadline.
            raise RuntimeError("a write began inside a writing unit of work of the same request")
        deadline = asyncio.get_running_loop().time() + self._lock_timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                await queue.acquire()
        except TimeoutError:
            raise _busy() from None
        holding = _HOLDS_WRITE_TURN.set(True)
        try:
            yield deadline
        finally:
            _HOLDS_WRITE_TURN.reset(holding)
            queue.release()

    @asynccontextmanager
    async def _unit_of_work(
        self, open_unit: Callable[[AsyncEngine], AbstractAsyncContextManager[_U]], *, write: bool
    ) -> AsyncIterator[_U]:
        """`open_unit` on the engine for reading or for writing: committed when the caller
        finishes, rolled back if it raises. A SQLite writer first takes its turn in this
        process's queue, and then waits for other processes each time it begins a transaction
        (see `on_begin`).

        A database that fails to serve is a 503, except when a writing commit fails: whether
        that commit happened is unknown, and a 503 promises that nothing changed."""
        bind = self._writer_engine if write else self.engine
        async with AsyncExitStack() as stack:
            if write:
                deadline = await stack.enter_async_context(self._write_turn())
                if deadline is not None:
                    bind = bind.execution_options(**{LOCK_DEADLINE_OPTION: deadline})
            committing = False
            try:
                async with open_unit(bind) as unit:
                    try:
                        yield unit
                    except BaseException:
                        await unit.rollback()
                        raise
                    committing = write
                    await unit.commit()
            except DatabaseFailure as exc:
                if committing:
                    raise
                _raise_for(exc)
            if write:
                self._committed()

    async def read(self, queries: Sequence[Query]) -> list[list[Any]]:
        """The rows of each SELECT of `queries`, all read in one snapshot, in a transaction of
        their own (not a request's unit of work); each row has an attribute per column, its
        values for a model to validate (as stored on SQLite: app.core.sqlite_direct). On a
        SQLite file they run on the reads' own connection; elsewhere on a connection of the
        engine's, REPEATABLE READ when there are several (PostgreSQL's READ COMMITTED takes a
        snapshot per statement). A database that fails to serve is a 503, as in a unit of
        work."""
        if self._reads is not None:
            try:
                return self._reads.read(queries)
            except sqlite3.DatabaseError as exc:
                _raise_for(exc)
        async with self.connection(write=False) as connection:
            if len(queries) > 1:
                await connection.execution_options(isolation_level="REPEATABLE READ")
            return [list(await connection.execute(query, values)) for query, values in queries]

    async def write(self, statement: Executable, values: Mapping[str, Any]) -> list[Any]:
        """The rows one INSERT, UPDATE or DELETE ... RETURNING returns, run and committed in a
        transaction of its own (not a request's unit of work); rows as `read` returns them.
        On a SQLite file it runs on the writes' own connection, in this process's
        write queue and under SQLite's write lock as a unit of work's writes do; elsewhere on
        a connection of the engine's. Failures are a unit of work's: a 503 for a database that
        cannot serve, a 500 for a failed commit."""
        writes = self._writes
        if writes is None:
            async with self.connection(write=True) as connection:
                return list(await connection.execute(statement, values))
        async with self._write_turn() as deadline:
            assert deadline is not None
            try:
                await _take_write_lock(writes.begin, deadline)
                rows = writes.execute(statement, values)
            except sqlite3.DatabaseError as exc:
                _raise_for(exc)
            writes.commit()
        self._committed()
        return rows

    def _committed(self) -> None:
        """Count a committed write transaction; every CHECKPOINT_EVERY_WRITES of them, start a
        checkpoint of the WAL in a worker thread, unless one is under way. (sqlite3 lets go of
        the GIL while SQLite copies pages and syncs files, so the event loop serves requests
        meanwhile.)"""
        if self._checkpoints is None:
            return
        self._writes_since_checkpoint += 1
        if self._writes_since_checkpoint >= CHECKPOINT_EVERY_WRITES and self._checkpointing is None:
            self._writes_since_checkpoint = 0
            self._checkpointing = asyncio.create_task(self._checkpoint(self._checkpoints))

    async def _checkpoint(self, checkpoints: SQLiteCheckpoints) -> None:
        try:
            await asyncio.to_thread(checkpoints.checkpoint)
        except sqlite3.Error as exc:  # the next one tries again; SQLite's own bound the WAL
            logger.warning("a WAL checkpoint failed: %s", exc)
        finally:
            self._checkpointing = None

    async def ping(self) -> bool:
        """Whether the database answers a query."""
        try:
            async with self.engine.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")
        except Exception:  # any failure means "not reachable", whatever the driver raised
            return False
        return True

    async def dispose(self) -> None:
        if self._checkpointing is not None:
            await self._checkpointing
        for direct in (self._reads, self._writes, self._checkpoints):
            if direct is not None:
                direct.close()
        await self.engine.dispose()
