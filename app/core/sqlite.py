"""The SQLite runner: sqlite3 connections of this process's own, called inline on the event loop.

SQLite is a library in this process, not a server across a network: a statement on an index takes
microseconds and holds the GIL either way, so handing it to a thread (aiosqlite) would only add
the hop. What must never block the loop is waiting for a lock, so connections never wait inside
SQLite (`timeout=0`, `busy_timeout=0`):

- Reads run on query-only connections in WAL mode, where readers never wait for writers, each
  taken for its statement and given back after it.
- Writes run on one writer connection. This process's writers queue for it on an asyncio lock,
  first come, first served, so they meet other processes' writers at the file lock one at a time.
  A single statement runs in autocommit; a transaction begins with `BEGIN IMMEDIATE`, which
  takes SQLite's write lock up front (a writer never upgrades a stale read snapshot). Either is
  retried with `asyncio.sleep` while another process holds the lock, for up to
  SQLITE_BUSY_TIMEOUT_MS in all, and then the request is a 503.
- The WAL is checkpointed in a worker thread every CHECKPOINT_EVERY_WRITES committed writes:
  SQLite's own checkpoint would run in whichever request's commit crossed its threshold, 17 ms or
  more (it syncs both files) with no request served. Beside a steady stream of writes these
  checkpoints never copy the last frames, so the WAL grows to SQLite's own bound
  (WAL_AUTOCHECKPOINT_PAGES), where SQLite's own checkpoint runs after all.
- A full disk (or a read-only file) is the contract's 503 for every write, its COMMIT included:
  SQLite writes a transaction's commit frame last, so a COMMIT that failed left nothing behind
  (the writer connection is closed, which rolls back what remains). The WAL, not the data, is
  what fills the disk: a write that fails for space checkpoints the WAL and truncates it, so the
  space it held is free for the next write, and writes succeed again as soon as there is room,
  without a restart.
"""

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import partial
from itertools import chain, repeat
from typing import Any, NoReturn, TypeVar

from sqlalchemy import make_url
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

from app.core.runner import Rows, RunSQL, UniqueViolation, busy, unavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Waits between attempts at SQLite's write lock: short at first, as transactions are short.
LOCK_RETRY_DELAYS_S = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
# SQLite's own checkpoints only bound the WAL (40 MiB of 4 KiB pages): under a steady stream of
# writes the thread's checkpoints never find the WAL idle, and only SQLite's let it start over.
WAL_AUTOCHECKPOINT_PAGES = 10_000
CHECKPOINT_EVERY_WRITES = 100  # a new task is ~6 pages
IDLE_READERS = 8  # read connections kept open between requests
# Primary result codes of a file that another connection holds ...
CONTENTION = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
# ... and of a file that cannot serve (missing, unreadable, full, corrupt, out of memory). Other
# codes (SQLITE_ERROR: SQL the schema does not match) are bugs, and stay 500s.
UNAVAILABLE = frozenset(
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
DUPLICATE_KEY = frozenset({sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY})

# Whether the running task holds its process's write turn (see `SQLiteRunner._write_turn`).
_HOLDS_WRITE_TURN: ContextVar[bool] = ContextVar("taskapi_holds_write_turn", default=False)


def sqlite_code(error: sqlite3.Error) -> int | None:
    """The primary result code; None for errors sqlite3 raises itself (undecodable text)."""
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _raise_for(error: sqlite3.DatabaseError) -> NoReturn:
    """The app's error for a failed statement (app.core.runner), told apart by result code:
    sqlite3 raises OperationalError both for a file another connection holds and for SQL that
    does not match the schema, and DatabaseError for a file that is not a database."""
    if getattr(error, "sqlite_errorcode", None) in DUPLICATE_KEY:
        raise UniqueViolation(str(error)) from error
    code = sqlite_code(error)
    if code not in CONTENTION | UNAVAILABLE:
        raise error
    logger.warning("the database could not serve a request: %s", error)
    raise (busy() if code in CONTENTION else unavailable()) from error


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def configure(connection: sqlite3.Connection, *, busy_timeout_ms: int = 0) -> None:
    """Set up a connection for a server: WAL (readers never wait for writers), foreign keys, and
    transactions begun only when the caller says so."""
    connection.isolation_level = None
    connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    (mode,) = connection.execute("PRAGMA journal_mode=WAL").fetchone()
    if mode not in ("wal", "memory"):  # readers would wait for writers
        raise RuntimeError(f"SQLite refused WAL mode (journal_mode={mode})")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    # SQLite's lower() folds only A-Z; searches are case-insensitive for every script, as they
    # are on PostgreSQL.
    connection.create_function("lower", 1, _lower, deterministic=True)


def _fetch(connection: sqlite3.Connection, sql: str, parameters: Sequence[Any]) -> Rows:
    return connection.execute(sql, parameters).fetchall()


async def _until_unlocked(attempt: Callable[[], T], deadline: float) -> T:
    """`attempt()` (a statement that takes SQLite's write lock, on a connection that never waits
    inside SQLite); while another process holds the lock, sleep on the event loop and try
    again, until `deadline` (event-loop time); then the request is a 503."""
    loop = asyncio.get_running_loop()
    delays = chain(LOCK_RETRY_DELAYS_S, repeat(LOCK_RETRY_DELAYS_S[-1]))
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if sqlite_code(exc) != sqlite3.SQLITE_BUSY:
                raise
            delay = next(delays)
            if loop.time() + delay > deadline:
                raise busy() from exc
        await asyncio.sleep(delay)


class SQLiteRunner:
    """Statements on one SQLite file (see the module docstring)."""

    def __init__(self, url: str, *, lock_timeout_s: float) -> None:
        self.dialect = SQLiteDialect_pysqlite()
        [filename], options = self.dialect.create_connect_args(make_url(url))
        if filename == ":memory:" or not filename:
            raise ValueError("SQLite must be a file: every connection would see its own database")
        self._connect: Callable[[], sqlite3.Connection] = partial(
            sqlite3.connect, filename, **{**options, "timeout": 0, "check_same_thread": False}
        )
        self._lock_timeout_s = lock_timeout_s
        self._idle_readers: list[sqlite3.Connection] = []
        self._writer: sqlite3.Connection | None = None
        self._checkpointer: sqlite3.Connection | None = None  # used in a worker thread
        self._write_queue = asyncio.Lock()
        self._writes_since_checkpoint = 0
        self._checkpointing: asyncio.Task[None] | None = None

    def _open(self, *, query_only: bool) -> sqlite3.Connection:
        connection = self._connect()
        try:
            configure(connection)
            if query_only:
                connection.execute("PRAGMA query_only=ON")
        except BaseException:
            connection.close()
            raise
        return connection

    @property
    def writing(self) -> bool:
        return self._write_queue.locked()

    async def read(self, sql: str, parameters: Sequence[Any]) -> Rows:
        try:
            connection = self._reader()
            rows = _fetch(connection, sql, parameters)
        except sqlite3.DatabaseError as exc:
            _raise_for(exc)
        self._give_back(connection)
        return rows

    async def write(self, sql: str, parameters: Sequence[Any]) -> Rows:
        """One statement in autocommit: SQLite takes the write lock for it and commits it as it
        completes, or rolls it back if it fails; one that finds the lock taken changes nothing
        and is tried again."""
        async with self._write_turn() as deadline:
            try:
                connection = self._writer_connection()
                rows = await _until_unlocked(partial(_fetch, connection, sql, parameters), deadline)
            except sqlite3.DatabaseError as exc:
                self._close_writer()  # rolls back
                self._write_failed(exc)
        self._committed()
        return rows

    def _reader(self) -> sqlite3.Connection:
        return self._idle_readers.pop() if self._idle_readers else self._open(query_only=True)

    def _give_back(self, connection: sqlite3.Connection) -> None:
        if len(self._idle_readers) < IDLE_READERS:
            self._idle_readers.append(connection)
        else:
            connection.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[RunSQL]:
        async with self._write_turn() as deadline:
            try:
                connection = self._writer_connection()
                await _until_unlocked(partial(connection.execute, "BEGIN IMMEDIATE"), deadline)
            except sqlite3.DatabaseError as exc:
                self._close_writer()  # rolls back
                self._write_failed(exc)
            try:
                yield partial(self._run, connection)
            except BaseException:
                self._close_writer()  # rolls back
                raise
            try:
                connection.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self._close_writer()  # rolls back
                self._write_failed(exc)
            except BaseException:
                self._close_writer()
                raise
        self._committed()

    async def _run(
        self, connection: sqlite3.Connection, sql: str, parameters: Sequence[Any]
    ) -> Rows:
        """A statement of a transaction (one that fails for a duplicate key is undone alone,
        and the transaction may go on)."""
        try:
            return _fetch(connection, sql, parameters)
        except sqlite3.DatabaseError as exc:
            self._write_failed(exc)

    def _writer_connection(self) -> sqlite3.Connection:
        if self._writer is None:
            self._writer = self._open(query_only=False)
        return self._writer

    def _write_failed(self, error: sqlite3.DatabaseError) -> NoReturn:
        """The app's error for a failed write; when the disk is full, free the WAL's space
        first."""
        if sqlite_code(error) == sqlite3.SQLITE_FULL:
            self._start_checkpoint("TRUNCATE")
        _raise_for(error)

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    @asynccontextmanager
    async def _write_turn(self) -> AsyncIterator[float]:
        """This process's turn to write, first in, first served, held until the caller is done.
        Yields the event-loop time by which the caller must have SQLite's write lock (the turn
        and the lock take at most the lock timeout in all)."""
        if _HOLDS_WRITE_TURN.get():
            # The turn is not re-entrant: this would wait for itself until the deadline.
            raise RuntimeError("a write began inside a write transaction of the same request")
        deadline = asyncio.get_running_loop().time() + self._lock_timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                await self._write_queue.acquire()
        except TimeoutError:
            raise busy() from None
        holding = _HOLDS_WRITE_TURN.set(True)
        try:
            yield deadline
        finally:
            _HOLDS_WRITE_TURN.reset(holding)
            self._write_queue.release()

    def _committed(self) -> None:
        """Count a committed write; every CHECKPOINT_EVERY_WRITES of them, checkpoint the WAL in
        a worker thread, unless one is under way (sqlite3 lets go of the GIL while SQLite copies
        pages and syncs files, so the event loop serves requests meanwhile)."""
        self._writes_since_checkpoint += 1
        if self._writes_since_checkpoint >= CHECKPOINT_EVERY_WRITES:
            self._start_checkpoint("PASSIVE")

    def _start_checkpoint(self, mode: str) -> None:
        if self._checkpointing is None:
            self._writes_since_checkpoint = 0
            self._checkpointing = asyncio.create_task(self._checkpoint(mode))

    async def _checkpoint(self, mode: str) -> None:
        """The checkpoint, in a worker thread beside this process's writes and reads (taking
        the write turn for it kept the WAL small and cost a fifth of the creates). Beside a
        stream of writes it never catches up with them: the WAL grows to SQLite's own bound,
        and the write that crosses it checkpoints 40 MiB on the event loop."""
        try:
            await asyncio.to_thread(self._checkpoint_now, mode)
        except sqlite3.Error as exc:  # the next one tries again
            logger.warning("a WAL checkpoint failed: %s", exc)
        finally:
            self._checkpointing = None

    def _checkpoint_now(self, mode: str) -> None:
        """A checkpoint on a connection of its own, which never waits for readers or writers:
        PASSIVE copies what no reader still needs; TRUNCATE (after a write failed for space)
        also empties the WAL file when no reader is using it."""
        if self._checkpointer is None:
            self._checkpointer = self._open(query_only=False)
        try:
            self._checkpointer.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        except BaseException:
            self._checkpointer.close()
            self._checkpointer = None
            raise

    async def close(self) -> None:
        if self._checkpointing is not None:
            await self._checkpointing
        self._close_writer()
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        while self._idle_readers:
            self._idle_readers.pop().close()
