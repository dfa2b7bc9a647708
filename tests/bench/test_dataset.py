"""The tasks `make bench-scale` seeds (scripts/bench/dataset.py): the list shapes it measures
count on their mix, and the cursors it makes on rebuilding any task from its index."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from app.core.migrations import create_sync_engine, upgrade_to_head
from app.domain.models import Task, User
from app.domain.search import search_text, words
from scripts.bench.dataset import (
    COMMON_WORD,
    RARE_WORD,
    VOCABULARY,
    Dataset,
    RowProgress,
    load_postgres,
    load_sqlite,
)
from tests.conftest import make_settings
from tests.databases import postgres_test_database

_TASK = Task.metadata.tables["task"]


def test_the_marker_words_start_no_other_word() -> None:
    """So `q=` a marker finds exactly the tasks that have it."""
    for marker in (COMMON_WORD, RARE_WORD):
        assert not [w for w in VOCABULARY if any(f.startswith(marker) for f in words(w))]


def test_the_rows_have_the_planned_mix() -> None:
    dataset = Dataset(uuid.UUID(int=1), 15_000)
    names = [column.name for column in _TASK.c]
    rows = [dict(zip(names, row, strict=True)) for batch in dataset.batches(4_000) for row in batch]
    assert len(rows) == 15_000
    has = [set(row["search_text"].split()) for row in rows]
    assert sum(COMMON_WORD in h for h in has) == 5_000
    assert sum(RARE_WORD in h for h in has) == 3
    assert 0.08 < sum(row["due_date"] is None for row in rows) / len(rows) < 0.12
    assert all(row["search_text"] == search_text(row["title"]) for row in rows)
    assert all(3 <= len(row["title"].split()) <= 8 for row in rows)
    created = [row["created_at"] for row in rows]
    assert created == sorted(created) and len(set(created)) == len(created)
    assert {row["status"] for row in rows} == {"todo", "in_progress", "completed"}
    assert len({row["id"] for row in rows}) == len(rows)


def test_any_task_is_rebuilt_from_its_index() -> None:
    dataset = Dataset(uuid.UUID(int=2), 12_000)
    names = [column.name for column in _TASK.c]
    rows = [dict(zip(names, row, strict=True)) for batch in dataset.batches(5_000) for row in batch]
    for index in (0, 2_400, 6_000, 11_999):
        record = dataset.record(index)
        assert record._asdict() == {name: rows[index][name] for name in record._fields}


def test_the_rare_word_is_in_a_small_list_too() -> None:
    assert len(Dataset(uuid.UUID(int=3), 1_000).rare_indexes()) == 1


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the suite's kind (PostgreSQL when TEST_DATABASE_URL is set)."""
    with postgres_test_database() as url:
        yield url or f"sqlite:///{tmp_path}/scale.db"


def test_the_loader_fills_the_migrated_table(database_url: str) -> None:
    settings = make_settings(database_url)
    upgrade_to_head(settings)
    dataset = Dataset(uuid.uuid4(), 300)
    user = User(id=dataset.owner_id, email="scale@example.com", hashed_password="x")
    engine = create_sync_engine(settings)
    try:
        with engine.begin() as connection:
            connection.execute(insert(User.metadata.tables["user"]).values(user.model_dump()))
        progress = RowProgress("test", dataset.count)
        if settings.is_sqlite:
            load_sqlite(engine, dataset, progress)
        else:
            load_postgres(database_url, dataset, progress)
        with engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(_TASK)).scalar_one()
            newest = connection.execute(select(_TASK.c.id).order_by(_TASK.c.created_at.desc()))
            assert count == 300
            assert newest.scalars().first() == dataset.record(299).id
    finally:
        engine.dispose()
