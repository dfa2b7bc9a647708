"""Real server processes (uvicorn) for tests that need sockets, workers or several processes."""

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from scripts.servers import Server, running_server
from tests.conftest import SECRET_KEY


@contextmanager
def live_server(
    database_url: str, *, workers: int = 1, env: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """Run `uvicorn app.main:app` with the tests' settings until the block ends (or the test
    kills it); its output goes to a log file in a temporary directory."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "8",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_LOGIN": "100000/minute",
        "RATE_LIMIT_DEFAULT": "100000/minute",
        **(env or {}),
    }
    with (
        tempfile.TemporaryDirectory(prefix="taskapi-test-server-") as scratch,
        running_server(
            "api",
            "app.main:app",
            workers=workers,
            env=environment,
            cwd=Path(scratch),
            health_path="/api/v1/health",
            cpus=None,
        ) as server,
    ):
        yield server
