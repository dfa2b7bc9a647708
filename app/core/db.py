"""The one data API: every query of the app is a `Statement` run by `Database`.

- `read(statement, values)`: one statement that reads, on a snapshot of its own;
- `write(statement, values)`: one statement that writes (INSERT, UPDATE or DELETE, with
  RETURNING for its rows), committed at once;
- `transaction()`: several statements that write, in one transaction, run by the `Run` it
  yields, committed when the block ends and rolled back if it raises.

Repositories take the `Run` of their statements (`database.read`, `database.write` or a
transaction's), so the same query serves a request on its own and inside a larger unit of work.
Behind it, one runner per driver (app.core.sqlite, app.core.postgres) runs the SQL the statement
compiled for its dialect, and rows become the statement's typed records here.

A database that cannot serve a statement (unreachable, too slow for its statement timeout, its
pool exhausted, or a SQLite file another process holds locked) is the contract's 503, never a 500
(app.core.runner).
"""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

from app.core.config import Settings
from app.core.postgres import PostgresRunner
from app.core.runner import Runner, RunSQL, UniqueViolation
from app.core.sqlite import SQLiteRunner
from app.core.statements import R, Statement

__all__ = ["Database", "Run", "UniqueViolation"]


class Run(Protocol):
    """Runs a statement with its values and returns its records: `Database.read`,
    `Database.write`, or what `Database.transaction` yields."""

    async def __call__(self, statement: Statement[R], values: Mapping[str, Any], /) -> list[R]: ...


class Database:
    """The statements of the app on one database (see the module docstring)."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._dialect = runner.dialect

    @classmethod
    def from_settings(cls, settings: Settings) -> "Database":
        if settings.is_sqlite:
            return cls(
                SQLiteRunner(
                    settings.DATABASE_URL, lock_timeout_s=settings.SQLITE_BUSY_TIMEOUT_MS / 1000
                )
            )
        return cls(
            PostgresRunner(
                settings.DATABASE_URL,
                max_connections=settings.DB_POOL_SIZE + settings.DB_MAX_OVERFLOW,
                statement_timeout_ms=settings.DB_STATEMENT_TIMEOUT_MS,
            )
        )

    @property
    def writing(self) -> bool:
        """Whether a write of this process holds, or waits for, its turn (SQLite's lock)."""
        return self._runner.writing

    async def read(self, statement: Statement[R], values: Mapping[str, Any]) -> list[R]:
        return statement.records(
            await self._runner.read(*statement.compiled(self._dialect).arguments(values))
        )

    async def write(self, statement: Statement[R], values: Mapping[str, Any]) -> list[R]:
        return statement.records(
            await self._runner.write(*statement.compiled(self._dialect).arguments(values))
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Run]:
        async with self._runner.transaction() as run_sql:
            yield _Transaction(run_sql, self._dialect)

    async def ping(self) -> bool:
        """Whether the database answers a query."""
        try:
            await self._runner.read("SELECT 1", ())
        except Exception:  # any failure means "not reachable", whatever the driver raised
            return False
        return True

    async def dispose(self) -> None:
        await self._runner.close()


class _Transaction:
    __slots__ = ("_dialect", "_run_sql")

    def __init__(self, run_sql: RunSQL, dialect: Any) -> None:
        self._run_sql = run_sql
        self._dialect = dialect

    async def __call__(self, statement: Statement[R], values: Mapping[str, Any], /) -> list[R]:
        return statement.records(
            await self._run_sql(*statement.compiled(self._dialect).arguments(values))
        )
