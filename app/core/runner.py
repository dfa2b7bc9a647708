"""What `app.core.db.Database` asks of a driver: one runner per database (app.core.sqlite,
app.core.postgres) runs compiled SQL and hands back rows as the driver returns them.

A runner turns its driver's errors into the app's: a database that cannot serve is the contract's
503 (`ServiceUnavailable`: "busy" when another connection holds what the statement needed,
"unavailable" otherwise), a duplicate key is `UniqueViolation`, and anything else (SQL the schema
does not match, bad data) stays the driver's own error, a 500.
"""

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from sqlalchemy.engine import Dialect

from app.domain.errors import ServiceUnavailable

Rows = list[Sequence[Any]]
# Runs one SQL statement with its positional parameters; returns its rows.
RunSQL = Callable[[str, Sequence[Any]], Awaitable[Rows]]


class UniqueViolation(Exception):
    """A statement would have stored a duplicate of a unique key."""


class Runner(Protocol):
    @property
    def dialect(self) -> Dialect:
        """The dialect the statements are compiled for."""

    async def read(self, sql: str, parameters: Sequence[Any]) -> Rows:
        """One statement that only reads, on a snapshot of its own."""

    async def write(self, sql: str, parameters: Sequence[Any]) -> Rows:
        """One statement that writes, committed at once."""

    def transaction(self) -> AbstractAsyncContextManager[RunSQL]:
        """Several statements that write, in one transaction: committed when the block ends,
        rolled back if it raises. A failed COMMIT whose outcome is unknown (a PostgreSQL
        connection lost during it) is raised as it is, as a 503 would promise that nothing
        changed; SQLite's failed COMMIT left nothing behind, and is a 503."""

    @property
    def writing(self) -> bool:
        """Whether a write of this process is under way or waiting for its turn."""

    async def close(self) -> None: ...


def busy() -> ServiceUnavailable:
    return ServiceUnavailable("The database is busy; try again shortly.", retry_after=1)


def unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("The database is unavailable; try again shortly.", retry_after=5)
