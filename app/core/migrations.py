"""Bringing the database to the latest migration, from the server's startup or `make migrate`."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.core.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(settings: Settings | None = None) -> Config:
    """Alembic's configuration; with `settings`, migrations run on that database instead of the
    one the environment names (alembic/env.py reads them from `attributes`)."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["settings"] = settings
    # The app configures logging itself; alembic.ini's logging is for the command line.
    config.attributes["configure_logger"] = settings is None
    return config


def upgrade_to_head(settings: Settings) -> None:
    command.upgrade(alembic_config(settings), "head")
