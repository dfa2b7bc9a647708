"""Types shared by the tables and the contract: UTC datetime columns, RFC 3339 input."""

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so values are stored as UTC and
    handed back aware. Naive datetimes are refused: a naive time is a bug, not a guess to make.
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
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def model_input_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """How a value as the database hands it over becomes text that the contract's models
        read as the value `process_result_value` returns (app.core.sqlite_direct): SQLite's
        text lacks the offset, which is UTC."""
        return _with_utc_offset if dialect.name == "sqlite" else None


def _with_utc_offset(stored: str | None) -> str | None:
    return None if stored is None else stored + "+00:00"


def utcnow() -> datetime:
    return datetime.now(UTC)


_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def _parse_rfc3339(value: Any) -> Any:
    """Strings become aware datetimes only in RFC 3339's form; anything else is left for
    pydantic to refuse."""
    if not isinstance(value, str):
        return value
    if not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-12-01T17:00:00Z")
    return datetime.fromisoformat(value.upper())


Rfc3339DateTime = Annotated[AwareDatetime, BeforeValidator(_parse_rfc3339)]
"""The contract's `format: date-time` for input: pydantic alone also reads "0" as 1970-01-01 and
accepts "2026-01-01 00:00Z"; JSON Schema does not."""
