"""Statements: a SQLAlchemy Core statement and the typed record each of its rows becomes.

Every query of the app is a `Statement`, built once (a module constant, or from a builder whose
cache has a fixed bound), so it is compiled once per dialect, on first use, and the compiled form
is kept on the statement itself: a statement that is dropped takes it along, and nothing is keyed
by identity.

Its rows come back as records: a NamedTuple whose fields are the statement's columns, in order,
validated by pydantic (in Rust) from the values as the driver returns them (UUIDs as text on
SQLite and as objects on PostgreSQL, enums as their values, booleans as 0 or 1 on SQLite), so a
record is the same on every database and mypy sees its types.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import TypeAdapter
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

R = TypeVar("R", bound=tuple[Any, ...])


class NoRows(NamedTuple):
    """The record of a statement that returns no rows."""


class Compiled:
    """A statement compiled for one dialect: its SQL, the order of its positional parameters and
    how each is converted (the column types' own bind processors)."""

    __slots__ = ("_compiled", "_expanding", "_names", "_process", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        assert compiled.positiontup is not None, "both drivers take positional parameters"
        self._compiled = compiled
        self.sql = compiled.string
        self._names = tuple(compiled.positiontup)
        self._process: dict[str, Callable[[Any], Any] | None] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        # `in_()` of a list: the SQL depends on the list's length, so it is rendered per call.
        self._expanding = any(bind.expanding for bind in compiled.binds.values())

    def arguments(self, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL to run with `values`, and its positional parameters, converted."""
        names: Sequence[str]
        given: Mapping[str, Any]
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


class Statement(Generic[R]):
    """A Core statement whose rows are `record`s: `record`'s fields must be the statement's
    columns, in order (checked here, once)."""

    __slots__ = ("_compiled", "_records", "record", "statement")

    def __init__(self, statement: ClauseElement, record: type[R]) -> None:
        columns = tuple(getattr(statement, "exported_columns", {}).keys())
        fields: tuple[str, ...] = getattr(record, "_fields", ())
        if fields != columns:
            missing = ", ".join(c for c in columns if c not in fields) or "none"
            extra = ", ".join(f for f in fields if f not in columns) or "none"
            raise TypeError(
                f"{record.__name__} ({record.__module__}) has fields {fields}; the statement "
                f"has {columns}: a record's fields are its statement's columns, in order "
                f"(missing: {missing}; not columns: {extra})"
            )
        self.statement = statement
        self.record = record
        self._records = TypeAdapter(list[record])  # type: ignore[valid-type]
        self._compiled: dict[str, Compiled] = {}

    def compiled(self, dialect: Dialect) -> Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = Compiled(self.statement, dialect)
        return found

    def records(self, rows: Sequence[Sequence[Any]]) -> list[R]:
        """The rows, as the driver returned them, validated into records."""
        if not rows:
            return []
        records: list[R] = self._records.validate_python(rows)
        return records
