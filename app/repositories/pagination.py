"""Keyset pages: a list is read in one order, and each page starts after the last row of the
page before (its key, which the page's cursor carries), so a page costs the same wherever it is
in the list."""

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import and_, bindparam, tuple_


class BadKey(ValueError):
    """A key that is not one of this order's."""


@dataclass(frozen=True, slots=True)
class Page:
    """`size` rows after the row whose key is `after` (the first page when None)."""

    size: int
    after: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Order:
    """A list's order: `keys`, all ascending or all descending, the last one unique (the id),
    and the type of their values, for cursors. A key's value may be None only in the group of
    rows that sorts last (tasks without a due date)."""

    keys: tuple[Any, ...]
    descending: bool
    key_type: TypeAdapter[tuple[Any, ...]]

    def order_by(self, nulls: tuple[bool, ...] | None = None) -> list[Any]:
        """ORDER BY for the rows after a key whose `nulls` are as given: after a NULL, the keys
        up to it are the same in every row (see `after`), and only those past it order them,
        which lets SQLite see that the index already has them in order."""
        keys = self.keys
        if nulls is not None and True in nulls:
            keys = keys[nulls.index(True) + 1 :]
        return [key.desc() if self.descending else key.asc() for key in keys]

    def after(self, nulls: tuple[bool, ...]) -> Any:
        """Rows after the key in the bind parameters `after_0`, `after_1`...; `nulls` says which
        of those values are None (rows with a NULL key compare by the keys after it)."""
        values = [bindparam(f"after_{i}", type_=key.type) for i, key in enumerate(self.keys)]
        if True not in nulls:
            keys, after = tuple_(*self.keys), tuple_(*values)
            return keys < after if self.descending else keys > after
        first = nulls.index(True)
        same = [key == value for key, value in zip(self.keys[:first], values, strict=False)]
        triples = list(zip(self.keys, values, nulls, strict=True))
        null_keys = [key.is_(None) for key, _, null in triples if null]
        rest = [(key, value) for key, value, null in triples[first + 1 :] if not null]
        keys, after = tuple_(*(k for k, _ in rest)), tuple_(*(v for _, v in rest))
        later = keys < after if self.descending else keys > after
        return and_(*same, *null_keys, later)

    def parameters(self, key: tuple[Any, ...]) -> dict[str, Any]:
        return {f"after_{i}": value for i, value in enumerate(key)}

    def dump(self, key: tuple[Any, ...]) -> list[Any]:
        """`key` as JSON values, for a cursor."""
        dumped: list[Any] = self.key_type.dump_python(key, mode="json")
        return dumped

    def load(self, values: Any) -> tuple[Any, ...]:
        """The key `dump` gave `values` for; BadKey if they are not one."""
        try:
            return self.key_type.validate_python(values)
        except ValidationError as exc:
            raise BadKey from exc
