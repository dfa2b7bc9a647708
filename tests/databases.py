"""A throwaway PostgreSQL database for a test session, when TEST_DATABASE_URL names a server."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from scripts.servers import postgres_database


@contextmanager
def postgres_test_database() -> Iterator[str | None]:
    """Create a fresh database on TEST_DATABASE_URL's server, yield its URL, drop it afterwards.
    Yields None when TEST_DATABASE_URL is not set."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield None
        return
    with postgres_database(base, prefix="taskapi_test") as url:
        yield url
