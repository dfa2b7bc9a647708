"""Migrations run on the app's own engine setup, one process at a time.

Several server processes may start at once: on SQLite the upgrade runs in a `BEGIN IMMEDIATE`
transaction, on PostgreSQL under an advisory lock, so the first upgrades and the rest find the
database at head.
"""

from logging.config import fileConfig

from alembic import context
from sqlmodel import SQLModel

import app.domain.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from app.core.config import get_settings
from app.core.migrations import create_sync_engine, include_object

MIGRATION_LOCK_ID = 7_261_001

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations_online() -> None:
    settings = config.attributes.get("settings") or get_settings()
    engine = create_sync_engine(settings)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            render_as_batch=settings.is_sqlite,
            transactional_ddl=True,
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            if not settings.is_sqlite:
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run against a database.")
run_migrations_online()
