"""Statements on SQLite without SQLAlchemy's execution layer: Core statements compiled once, run
on connections of this process's own, inline on the event loop.

Executing one statement through SQLAlchemy (connection, transaction, execution context, result,
and for the asyncio API a greenlet switch per call) costs some 30 times what SQLite spends on
it, and the hottest requests are a statement or two: GET /tasks/{id} and the list read, and
create, update and delete write one row (docs/performance.md, steps 13 and 19). Connections
here never wait inside SQLite (busy_timeout=0) and never await, so one connection serves every
read of the event loop, and one every write (`app.core.db.Database` queues the writers and
waits for SQLite's write lock on the loop).

What stays SQLAlchemy's: the statements (Core, on the same tables), their SQL (compiled by the
dialect, expanding `in_()` parameters included) and the conversion of every parameter (each
type's own bind processor). A statement is compiled once per object, kept for the life of the
process, so statements must be built once (module constants or cached builders), never per
call.

What does not: the rows hold the values as SQLite returns them, for the contract's models to
validate (pydantic parses them in Rust), not the Python objects of the column types' result
processors, which cost more than the statement (a `UUID` and an aware `datetime` made in Python
are ~8 µs a task row; docs/performance.md, step 23). The models read UUIDs as 32 hex digits,
enums as their values and booleans as 0 or 1 as stored; a type that needs more says how with a
`model_input_processor(dialect)` method (`UTCDateTime` adds the UTC offset SQLite's text lacks),
and any other type with a result processor is refused when its statement is first prepared.
"""

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Boolean, Enum, Uuid
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeEngine

# A statement and its values by name.
Query = tuple[Executable, Mapping[str, Any]]

# Column types whose values the models read as SQLite returns them, result processor or not
# (an Enum only if it stores its members' values: see `_model_input_processor`).
_READ_AS_STORED = (Uuid, Enum, Boolean)


def sqlite_code(error: sqlite3.Error) -> int | None:
    """The primary result code; None for errors sqlite3 raises itself (undecodable text)."""
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def is_busy(error: sqlite3.Error) -> bool:
    """Whether another connection holds the lock the statement needed."""
    return sqlite_code(error) == sqlite3.SQLITE_BUSY


def _model_input_processor(
    column_type: TypeEngine[Any], dialect: Dialect
) -> Callable[[Any], Any] | None:
    """What makes a column's value, as sqlite3 returns it, what the models read as the value
    the type's result processor would return (see the module docstring); None if nothing."""
    own = getattr(column_type, "model_input_processor", None)
    if own is not None:
        processor: Callable[[Any], Any] | None = own(dialect)
        return processor
    if isinstance(column_type, Enum) and column_type.enum_class is not None:
        stores_values = column_type.enums == [member.value for member in column_type.enum_class]
        if not stores_values:  # it stores names, which the models would refuse or misread
            raise TypeError(f"{column_type!r} stores its members' names, not their values")
    if isinstance(column_type, _READ_AS_STORED):
        return None
    if column_type.dialect_impl(dialect).result_processor(dialect, None) is None:
        return None
    raise TypeError(f"{column_type!r} columns are not read on sqlite3 directly")


class _Prepared:
    """One statement compiled for SQLite: its SQL, the order of its parameters, how to convert
    them, and how to turn a result tuple into a row with a named attribute per column, holding
    what the models read (see the module docstring)."""

    __slots__ = ("_compiled", "_expanding", "_names", "_process", "_result", "_row", "sql")

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert compiled.positiontup is not None, "SQLite's paramstyle is positional"
        self._compiled = compiled
        self.sql = compiled.string
        self._names = tuple(compiled.positiontup)
        self._process = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        # `in_()` of a list: the SQL depends on the list's length, so it is rendered per call.
        self._expanding = any(bind.expanding for bind in compiled.binds.values())
        columns = statement.exported_columns
        processors = (_model_input_processor(column.type, dialect) for column in columns)
        # (position, processor) of each column that has one: the timestamps.
        self._result = tuple(
            (position, process) for position, process in enumerate(processors) if process
        )
        self._row: Any = namedtuple("Row", columns.keys(), rename=True)  # type: ignore[misc]

    def arguments(self, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL to run with `values`, and its positional parameters, converted."""
        if not self._expanding:
            sql, names, given = self.sql, self._names, self._compiled.construct_params(values)
            bound_as: Mapping[str, str] = {}
        else:
            state = self._compiled.construct_expanded_state(values)
            sql, names, given = state.statement, state.positiontup or (), state.parameters
            bound_as = {
                expanded: name
                for name, expansion in state.parameter_expansion.items()
                for expanded in expansion
            }
        parameters = []
        for name in names:
            process = self._process[bound_as.get(name, name)]
            parameters.append(given[name] if process is None else process(given[name]))
        return sql, parameters

    def rows(self, fetched: list[tuple[Any, ...]]) -> list[Any]:
        make, convert = self._row._make, self._result
        rows = []
        for raw in fetched:
            values = list(raw)
            for position, process in convert:
                values[position] = process(values[position])
            rows.append(make(values))
        return rows


class _Direct:
    """One sqlite3 connection (opened on first use, and again after a failure) and the
    statements compiled for it. `connect` opens the file the engine opens, never waiting for a
    lock (timeout=0), usable from the thread the event loop runs on (check_same_thread=False);
    `configure` sets it up as the engine sets up its own."""

    _setup: tuple[str, ...] = ()

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        dialect: Dialect,
        configure: Callable[[sqlite3.Connection], None],
    ) -> None:
        self._connect_to_file = connect
        self._dialect = dialect
        self._configure = configure
        self._connection: sqlite3.Connection | None = None
        self._prepared: dict[int, tuple[Executable, _Prepared]] = {}

    def _run(self, connection: sqlite3.Connection, statement: Executable, values: Any) -> list[Any]:
        prepared = self._prepare(statement)
        fetched = connection.execute(*prepared.arguments(values)).fetchall()
        return prepared.rows(fetched)

    def _prepare(self, statement: Executable) -> _Prepared:
        # Keyed by identity: the statements are built once (module constants, or cached), and
        # each is kept with its compiled form, so that its id cannot be reused by another.
        found = self._prepared.get(id(statement))
        if found is None:
            found = self._prepared[id(statement)] = (
                statement,
                _Prepared(statement, self._dialect),
            )
        return found[1]

    def _connected(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        connection = self._connect_to_file()
        try:
            self._configure(connection)
            for pragma in self._setup:
                connection.execute(pragma)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def close(self) -> None:
        """Close the connection (rolling back what it had begun); the next use opens another."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class SQLiteReads(_Direct):
    """Runs SELECTs on a query-only connection."""

    _setup = ("PRAGMA query_only=ON",)

    def read(self, queries: Sequence[Query]) -> list[list[Any]]:
        """The rows of each query; several are read in one transaction (one snapshot)."""
        connection = self._connected()
        try:
            if len(queries) == 1:
                return [self._run(connection, *queries[0])]
            connection.execute("BEGIN")
            rows = [self._run(connection, statement, values) for statement, values in queries]
            connection.execute("COMMIT")  # nothing was written: COMMIT only ends the snapshot
            return rows
        except BaseException:
            self.close()  # whatever failed, the next read starts on a new connection
            raise


class SQLiteWrites(_Direct):
    """Runs one writing statement per transaction: `begin`, `execute`, `commit`. The caller
    makes sure that one write at a time is under way, and retries `begin` while another process
    holds the write lock."""

    def begin(self) -> None:
        """BEGIN IMMEDIATE: take SQLite's write lock now, or raise its "busy" error."""
        connection = self._connected()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                self.close()  # anything but "busy": start again on a new connection
            raise

    def execute(self, statement: Executable, values: Mapping[str, Any]) -> list[Any]:
        """The rows the statement returns, in the transaction `begin` opened; on any failure
        that transaction is rolled back."""
        assert self._connection is not None
        assert self._connection.in_transaction
        try:
            return self._run(self._connection, statement, values)
        except BaseException:
            self.close()
            raise

    def commit(self) -> None:
        assert self._connection is not None
        try:
            self._connection.execute("COMMIT")
        except BaseException:
            self.close()
            raise


class SQLiteCheckpoints(_Direct):
    """Checkpoints the WAL: copies the pages of committed transactions into the database file,
    so that the WAL can start over. Called in a worker thread, one call at a time."""

    def checkpoint(self) -> None:
        """A PASSIVE checkpoint: it never waits for readers or writers, and copies what no
        reader still needs."""
        connection = self._connected()
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except BaseException:
            self.close()
            raise
