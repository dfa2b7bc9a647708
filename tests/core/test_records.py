"""Every statement's rows are typed records (app/domain/models.py), validated from what the driver
returns; a record's fields are its table's columns, and a statement's columns its record's."""

import types
import typing
from typing import Any, NamedTuple, get_type_hints

import pytest
from pydantic import AwareDatetime
from sqlalchemy import Enum, String, Table, bindparam, select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

from app.core.statements import Statement
from app.domain.models import (
    IdempotencyKey,
    IdempotencyKeyRecord,
    Task,
    TaskRecord,
    User,
    UserRecord,
)
from app.domain.types import UTCDateTime

RECORDS: list[tuple[type[Any], Table]] = [
    (UserRecord, User.metadata.tables["user"]),
    (TaskRecord, Task.metadata.tables["task"]),
    (IdempotencyKeyRecord, IdempotencyKey.metadata.tables["idempotency_key"]),
]


def _python_type(annotation: Any) -> tuple[type[Any], bool]:
    """The class an annotation names, and whether it admits None."""
    arguments = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        [inner] = [a for a in arguments if a is not type(None)]
        return _python_type(inner)[0], True
    if typing.get_origin(annotation) is typing.Annotated:
        return _python_type(arguments[0])
    return annotation, False


@pytest.mark.parametrize(("record", "table"), RECORDS, ids=lambda v: getattr(v, "name", ""))
def test_a_record_has_its_tables_columns_in_order_with_their_types(
    record: type[Any], table: Table
) -> None:
    hints = get_type_hints(record, include_extras=True)
    assert list(hints) == [column.name for column in table.columns]
    for column in table.columns:
        python_type, nullable = _python_type(hints[column.name])
        assert nullable == column.nullable, column.name
        stored = getattr(column.type, "impl_instance", column.type)  # a TypeDecorator's own
        if isinstance(column.type, Enum):
            assert python_type is column.type.enum_class, column.name
        elif isinstance(column.type, UTCDateTime):
            assert python_type is AwareDatetime, column.name
        elif isinstance(stored, String):  # SQLModel's AutoString says `object`
            assert python_type is str, column.name
        else:
            assert python_type is stored.python_type, column.name


def test_a_statement_whose_columns_are_not_its_records_is_refused() -> None:
    tasks = Task.metadata.tables["task"]

    class Title(NamedTuple):
        name: str

    with pytest.raises(TypeError, match=r"Title \(tests.core.test_records\) has fields"):
        Statement(select(tasks.c.title), Title)


def test_a_statement_is_compiled_once_per_dialect() -> None:
    tasks = Task.metadata.tables["task"]
    statement = Statement(select(tasks).where(tasks.c.id == bindparam("id")), TaskRecord)
    sqlite, postgres = SQLiteDialect_pysqlite(), PGDialect_asyncpg()  # type: ignore[no-untyped-call]
    assert statement.compiled(sqlite) is statement.compiled(SQLiteDialect_pysqlite())
    assert statement.compiled(postgres) is not statement.compiled(sqlite)
    assert "$1" in statement.compiled(postgres).sql
    assert "?" in statement.compiled(sqlite).sql
