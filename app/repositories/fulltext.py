"""The full-text index of task titles (created by the migrations) as one condition, in each
database's own terms: every word starts a word of `task.search_text`. Both take the words as
they are (letters and digits only, app.domain.search), with no parsing of their own."""

from typing import Any

from sqlalchemy import Boolean, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class _PrefixQuery(TypeDecorator[tuple[str, ...]]):
    """Words (letters and digits only, app.domain.search) as the database's prefix query."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return " ".join(f'"{word}"*' for word in value)  # FTS5: implicit AND
        return " & ".join(f"'{word}':*" for word in value)  # tsquery: quoted lexemes, as they are


class TitlesHaveWords(ColumnElement[bool]):
    """The task's title has each of the words bound to `words` at the start of one of its
    words, as the full-text index finds it."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it is, never `= 1`
    _traverse_internals = [("words", InternalTraversal.dp_clauseelement)]

    def __init__(self, words: str) -> None:
        self.words: BindParameter[tuple[str, ...]] = BindParameter(words, type_=_PrefixQuery())


@compiles(TitlesHaveWords, "sqlite")
def _fts5(element: TitlesHaveWords, compiler: SQLCompiler, **kw: Any) -> str:
    words = compiler.process(element.words, **kw)
    return f"task.rowid IN (SELECT rowid FROM task_search WHERE task_search MATCH {words})"  # noqa: S608


@compiles(TitlesHaveWords, "postgresql")
def _tsvector(element: TitlesHaveWords, compiler: SQLCompiler, **kw: Any) -> str:
    words = compiler.process(element.words, **kw)
    lexemes = "array_to_tsvector(string_to_array(btrim(task.search_text), ' '))"
    return f"{lexemes} @@ CAST({words} AS tsquery)"


class NotAnIndexKey(ColumnElement[Any]):
    """`column`, which the database must not look up by an index: on SQLite, `+column`, so a
    search by the full-text index starts from its matches rather than from a walk of the
    owner's tasks in order (SQLAlchemy renders no `NOT INDEXED` for SQLite)."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(NotAnIndexKey)
def _column(element: NotAnIndexKey, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(NotAnIndexKey, "sqlite")
def _unary_plus(element: NotAnIndexKey, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.column, **kw)}"
