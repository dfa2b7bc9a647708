"""Reads on SQLite without SQLAlchemy's execution layer: a Core SELECT compiled once, run on a
connection of this process's own, inline on the event loop.

Executing one statement through SQLAlchemy (connection, transaction, execution context, result)
costs some 30 times what SQLite spends on it, and the hottest requests (GET /tasks/{id}, the
list) are one or two reads (docs/performance.md, step 13). A read here never waits inside SQLite
(busy_timeout=0) and never awaits, so one connection serves every read of the event loop.

What stays SQLAlchemy's: the statements (Core, on the same tables), their SQL (compiled by the
dialect) and every value's conversion (each type's own bind and result processors), so a row here
holds what `connection.execute` would have returned. What is not supported: parameters that
SQLAlchemy expands at execution (`in_()` of a list); and a statement is compiled once per object,
kept for the life of the process, so statements must be built once (module constants or cached
builders), never per call.
"""

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect

Query = tuple[Select[Any], Mapping[str, Any]]


class _Prepared:
    """One SELECT compiled for SQLite: its SQL, the order of its parameters, how to convert
    them, and how to turn a result tuple into a row with a named attribute per column."""

    __slots__ = ("_bind", "_compiled", "_names", "_result", "_row", "sql")

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert compiled.positiontup is not None, "SQLite's paramstyle is positional"
        if any(bind.expanding for bind in compiled.binds.values()):
            raise TypeError("Database.read does not take expanding parameters (in_ of a list)")
        self._compiled = compiled
        self.sql = compiled.string
        self._names = tuple(compiled.positiontup)
        self._bind = tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self._names
        )
        columns = statement.selected_columns
        self._result = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        self._row: Any = namedtuple("Row", columns.keys(), rename=True)  # type: ignore[misc]

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        given = self._compiled.construct_params(values)
        return [
            given[name] if process is None else process(given[name])
            for name, process in zip(self._names, self._bind, strict=True)
        ]

    def rows(self, fetched: list[tuple[Any, ...]]) -> list[Any]:
        convert = self._result
        return [
            self._row._make(
                value if process is None else process(value)
                for process, value in zip(convert, raw, strict=True)
            )
            for raw in fetched
        ]


class SQLiteReads:
    """Runs reads on one sqlite3 connection (opened on first use, query-only). `connect` opens
    the file the engine opens, never waiting for a lock (timeout=0), usable from the thread the
    event loop runs on (check_same_thread=False)."""

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
        self._prepared: dict[int, tuple[Select[Any], _Prepared]] = {}

    def read(self, queries: Sequence[Query]) -> list[list[Any]]:
        """The rows of each query; several are read in one transaction (one snapshot)."""
        connection = self._connection or self._connect()
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

    def _run(
        self, connection: sqlite3.Connection, statement: Select[Any], values: Mapping[str, Any]
    ) -> list[Any]:
        prepared = self._prepare(statement)
        fetched = connection.execute(prepared.sql, prepared.parameters(values)).fetchall()
        return prepared.rows(fetched)

    def _prepare(self, statement: Select[Any]) -> _Prepared:
        # Keyed by identity: the statements are built once (module constants, or cached), and
        # each is kept with its compiled form, so that its id cannot be reused by another.
        found = self._prepared.get(id(statement))
        if found is None:
            found = self._prepared[id(statement)] = (
                statement,
                _Prepared(statement, self._dialect),
            )
        return found[1]

    def _connect(self) -> sqlite3.Connection:
        connection = self._connect_to_file()
        try:
            self._configure(connection)
            connection.execute("PRAGMA query_only=ON")
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
