"""Does a client that sends its request body slowly hold up everybody else's writes?

    .venv/bin/python -m scripts.bench.slow_upload [--database-url postgresql+psycopg://...]

It starts the real server (one worker, production settings, SQLite in a temporary directory by
default), sends POST /api/v1/tasks with complete headers but only part of the body, and while
that request waits for the rest, times another user's ordinary create. Then it sends the rest.
One slow request, all on 127.0.0.1, bounded by the server's busy timeout (15 s by default).
"""

import argparse
import shutil
import socket
import tempfile
import time
from pathlib import Path

import httpx

from scripts.servers import (
    HOST,
    app_environment,
    is_postgres,
    new_secret_key,
    postgres_database,
    running_server,
)

from . import seed as seeding

BODY = b'{"title":"a slow upload"}'


def check(database_url: str, scratch: Path) -> None:
    env = app_environment(database_url, new_secret_key(), rate_limits=False)
    with running_server(
        "task API", "app.main:app", workers=1, env=env, cwd=scratch,
        health_path="/api/v1/health", cpus=None,
    ) as app:  # fmt: skip
        fixture = seeding.seed(app.url, read_tasks=1, patch_tasks=1)
        head = (
            f"POST /api/v1/tasks HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Authorization: Bearer {fixture.writer.access_token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
        ).encode()
        with socket.create_connection((HOST, app.port), timeout=60) as slow:
            slow.sendall(head + BODY[:5])
            time.sleep(0.3)  # the server has the headers and is waiting for the body
            start = time.monotonic()
            other = httpx.post(
                f"{app.url}/api/v1/tasks",
                json={"title": "an ordinary create"},
                headers=fixture.reader.headers(),
                timeout=60,
            )
            waited = time.monotonic() - start
            slow.sendall(BODY[5:])
            answer = slow.recv(200).split(b"\r\n", 1)[0].decode()
        print(
            f"{database_url.split(':', 1)[0]}: another user's create took {waited:.2f} s and got "
            f"{other.status_code} while a body upload was pending; the slow upload got {answer!r}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.slow_upload")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server (optional)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="taskapi-slow-"))
    try:
        if is_postgres(args.database_url):
            with postgres_database(args.database_url) as url:
                check(url, scratch)
        else:
            check(f"sqlite:///{scratch}/slow.db", scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
