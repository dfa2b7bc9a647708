"""Page cursors: what the server makes it reads back, for the list it made it for, and nothing
else it is sent is more than a BadCursor."""

import re
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.api.contract import load_contract
from app.api.cursors import BadCursor, CursorCodec
from app.repositories.tasks import order_of
from generated.models import TaskSort

CODEC = CursorCodec("a-secret-that-is-long-enough-for-the-tests")
KEYS = st.lists(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30)), max_size=4
)
SCOPES = st.text(max_size=40)
SCHEMAS = load_contract()["components"]["schemas"]
TITLES = st.text(
    alphabet=st.characters(exclude_categories=["Cc"]),
    min_size=SCHEMAS["TaskTitle"]["minLength"],
    max_size=SCHEMAS["TaskTitle"]["maxLength"],
)


@given(scope=SCOPES, key=KEYS)
def test_a_cursor_reads_back_its_key(scope: str, key: list[Any]) -> None:
    cursor = CODEC.encode(scope, key)
    assert CODEC.decode(scope, cursor) == key


@given(title=TITLES, task_id=st.uuids())
def test_a_title_cursor_is_a_page_cursor(title: str, task_id: UUID) -> None:
    """The title sort holds the longest keys: any title the contract allows makes a cursor it
    allows too."""
    schema = SCHEMAS["PageCursor"]
    cursor = CODEC.encode("scope", order_of(TaskSort("title")).dump((title, task_id)))
    assert len(cursor) <= schema["maxLength"]
    assert re.fullmatch(schema["pattern"], cursor)


def test_the_widest_title_cursor_is_a_page_cursor() -> None:
    """Titles of the letters that take the most bytes, at the longest length."""
    longest = SCHEMAS["TaskTitle"]["maxLength"]
    for letter in ("\U0010fffd", '"', "\\"):
        cursor = CODEC.encode(
            "scope", order_of(TaskSort("title")).dump((letter * longest, UUID(int=0)))
        )
        assert len(cursor) <= SCHEMAS["PageCursor"]["maxLength"], letter


@given(scope=SCOPES, other=SCOPES, key=KEYS)
def test_a_cursor_is_refused_on_another_list(scope: str, other: str, key: list[Any]) -> None:
    cursor = CODEC.encode(scope, key)
    if other != scope:
        with pytest.raises(BadCursor):
            CODEC.decode(other, cursor)


@given(scope=SCOPES, key=KEYS, position=st.integers(min_value=0), char=st.characters())
def test_a_changed_cursor_is_refused(scope: str, key: list[Any], position: int, char: str) -> None:
    cursor = CODEC.encode(scope, key)
    position %= len(cursor)
    changed = cursor[:position] + char + cursor[position + 1 :]
    if changed != cursor:
        with pytest.raises(BadCursor):
            CODEC.decode(scope, changed)


@given(text=st.text(max_size=600))
def test_anything_else_is_a_bad_cursor(text: str) -> None:
    with pytest.raises(BadCursor):
        CODEC.decode("scope", text)


def test_another_secret_makes_other_cursors() -> None:
    cursor = CODEC.encode("scope", ["2026-12-01T00:00:00Z", "id"])
    with pytest.raises(BadCursor):
        CursorCodec("another-secret-that-is-long-enough-too").decode("scope", cursor)
