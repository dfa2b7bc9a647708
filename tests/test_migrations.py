"""Alembic is the only way the schema changes: the round trip works and models match migrations."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from app.core.migrations import alembic_config, create_sync_engine, include_object
from tests.conftest import make_settings
from tests.databases import postgres_test_database


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the suite's kind (PostgreSQL when TEST_DATABASE_URL is set)."""
    with postgres_test_database() as url:
        yield url or f"sqlite:///{tmp_path}/migrations.db"


# SQLite cannot reflect the expression index on lower(email); PostgreSQL compares it.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_upgrade_downgrade_upgrade_and_models_match(fresh_database_url: str) -> None:
    settings = make_settings(fresh_database_url)
    config = alembic_config(settings)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = create_sync_engine(settings)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
        assert {"user", "task"} <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": include_object}
            )
            differences = compare_metadata(context, SQLModel.metadata)
        assert differences == [], differences
    finally:
        engine.dispose()
