"""Bringing the database to the latest migration, from the server's startup or `make migrate`.

Migrations run on SQLAlchemy's own engine (Alembic's), configured as the server's connections
are: on SQLite every transaction is `BEGIN IMMEDIATE` and waits for other processes' writers
inside SQLite, for up to SQLITE_BUSY_TIMEOUT_MS.
"""

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event

from app.core import sqlite
from app.core.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def create_sync_engine(settings: Settings) -> Engine:
    """A blocking engine for migrations and tests that inspect the schema."""
    settings.ensure_sqlite_directory()
    engine = create_engine(settings.DATABASE_URL, pool_pre_ping=True, hide_parameters=True)
    if settings.is_sqlite:

        @event.listens_for(engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            sqlite.configure(dbapi_connection, busy_timeout_ms=settings.SQLITE_BUSY_TIMEOUT_MS)

        @event.listens_for(engine, "begin")
        def on_begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(settings: Settings | None = None) -> Config:
    """Alembic's configuration; with `settings`, migrations run on that database instead of the
    one the environment names (alembic/env.py reads them from `attributes`)."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["settings"] = settings
    # The app configures logging itself; alembic.ini's logging is for the command line.
    config.attributes["configure_logger"] = settings is None
    return config


# Indexes autogenerate cannot compare with the models: the full-text index of task titles, which
# only the migrations define (an FTS5 table and its shadow tables on SQLite, a GIN index on
# PostgreSQL), and the priority order, whose CASE PostgreSQL stores rewritten (with casts and an
# ELSE). tests/core/test_list_plans.py checks that the lists use them.
_NOT_COMPARED = ("task_search", "ix_task_search", "ix_task_user_id_priority_rank_id")


def include_object(
    _object: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
) -> bool:
    """What autogenerate compares with the models (all but `_NOT_COMPARED`)."""
    return not (type_ in {"table", "index"} and name is not None and name.startswith(_NOT_COMPARED))


def upgrade_to_head(settings: Settings) -> None:
    command.upgrade(alembic_config(settings), "head")
