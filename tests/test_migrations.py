"""Alembic is the only way the schema changes: the round trip works and models match migrations."""

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

from app.core.migrations import PROJECT_ROOT as ROOT
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


@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_make_migration_writes_the_next_numbered_revision_lint_clean(tmp_path: Path) -> None:
    """`make migration` on a copy of alembic/ without its head revision: autogenerate finds that
    revision's change and writes it again, numbered after the new head and passing ruff as
    written (the project's settings, alembic.ini's post-write hooks)."""
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_revision(scripts.get_current_head() or "")
    assert head is not None and head.path is not None
    shutil.copytree(ROOT / "alembic", tmp_path / "alembic")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    versions = tmp_path / "alembic" / "versions"
    (versions / Path(head.path).name).unlink()
    config = alembic_config(make_settings(f"sqlite:///{tmp_path}/scratch.db"))
    config.set_main_option("script_location", str(tmp_path / "alembic"))
    command.upgrade(config, "head")
    command.revision(config, message="once more", autogenerate=True)
    [written] = versions.glob(f"*_{head.revision}_once_more.py")
    text = written.read_text(encoding="utf-8")
    assert f'revision: str = "{head.revision}"' in text
    assert f'down_revision: str | Sequence[str] | None = "{head.down_revision}"' in text
    assert "def upgrade() -> None:\n    pass" not in text
    ruff = Path(sys.executable).with_name("ruff")
    for check in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [ruff, *check, written], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_revisions_are_numbered_in_sequence() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = list(reversed(list(scripts.walk_revisions())))
    assert [r.revision for r in revisions] == [f"{n:04d}" for n in range(1, len(revisions) + 1)]
