"""The TypeScript SDK against the real server: openapi-fetch (pinned in package.json, `make
node-install`) over generated/typescript/schema.d.ts (`make sdk`).

tests/sdk/typescript/client.e2e.test.mts is compiled with `tsc --strict` (its tsconfig.json adds
stricter checks still) and run with `node --test` against one uvicorn process on a SQLite file of
its own: register, log in, create tasks, list them page by page, and a stale If-Match answered
with a 412 problem that the client reads as the contract's typed Problem.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import live_server

ROOT = Path(__file__).resolve().parents[2]
SOURCES = Path(__file__).resolve().parent / "typescript"
NODE_MODULES = ROOT / "node_modules"
NODE_SECONDS = 120


def node() -> str:
    executable = shutil.which("node")
    assert executable is not None, "node is not on PATH"
    return executable


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test, compiled by tsc --strict into a directory that sees the project's node_modules."""
    assert (NODE_MODULES / "openapi-fetch").is_dir(), "run `make node-install`"
    out = tmp_path_factory.mktemp("sdk-typescript")
    (out / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    result = subprocess.run(
        [NODE_MODULES / ".bin" / "tsc", "--project", SOURCES, "--strict", "--outDir", out],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=NODE_SECONDS,
    )
    assert result.returncode == 0, "tsc --strict failed:\n" + result.stdout + result.stderr
    return out / "client.e2e.test.mjs"


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("sdk-typescript-db") / "sdk.db"
    with live_server(f"sqlite:///{database}") as server:
        yield f"{server.url}/api/v1"


def test_the_typescript_client_drives_the_real_server(compiled: Path, api_url: str) -> None:
    result = subprocess.run(
        [node(), "--test", "--test-reporter=tap", compiled],
        cwd=compiled.parent,
        env={**os.environ, "TASK_API_URL": api_url, "NODE_NO_WARNINGS": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=NODE_SECONDS,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "# pass 3" in result.stdout, output
    assert "# fail 0" in result.stdout, output
