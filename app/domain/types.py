"""UTC datetime columns."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import TypeDecorator


class _WithUTCOffset(GenericFunction[datetime]):
    """A UTC datetime column as read: on SQLite, its text with the offset it is stored without
    (`|| '+00:00'`), so that every driver hands back an aware RFC 3339 time; elsewhere itself."""

    inherit_cache = True
    name = "with_utc_offset"


@compiles(_WithUTCOffset)
def _as_itself(element: _WithUTCOffset, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_WithUTCOffset, "sqlite")
def _with_offset_text(element: _WithUTCOffset, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} || '+00:00')"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so values are stored as UTC text
    and read with the offset added (see `column_expression`). Naive datetimes are refused: a
    naive time is a bug, not a guess to make.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite's text, read by SQLAlchemy itself (migrations)
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def column_expression(self, column: ColumnElement[datetime]) -> ColumnElement[datetime]:
        return _WithUTCOffset(column)


def utcnow() -> datetime:
    return datetime.now(UTC)
