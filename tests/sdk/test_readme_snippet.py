"""The README's Python SDK snippet, as written there: mypy --strict clean, and it works against a
live server, on an empty database and again once its account exists."""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import live_server

ROOT = Path(__file__).resolve().parents[2]
SNIPPET_URL = "http://127.0.0.1:8000/api/v1"


def readme_snippet() -> str:
    """The first Python block of the README's "Client SDKs" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Client SDKs") :]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None, "no Python block under Client SDKs"
    return found.group(1)


@pytest.fixture(scope="module")
def snippet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path: Path = tmp_path_factory.mktemp("readme") / "snippet.py"
    path.write_text(readme_snippet(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database: Path = tmp_path_factory.mktemp("readme") / "readme.db"
    with live_server(f"sqlite:///{database}") as server:
        yield f"{server.url}/api/v1"


def run(command: list[str | Path]) -> subprocess.CompletedProcess[str]:
    """`command`, with the client importable as `pip install ./generated/client` makes it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "generated" / "client")}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def test_the_snippet_passes_mypy_strict(snippet: Path) -> None:
    mypy = Path(sys.executable).with_name("mypy")
    result = run([mypy, "--strict", "--config-file", ROOT / "pyproject.toml", snippet])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_snippet_runs_against_a_live_server(
    snippet: Path, base_url: str, tmp_path: Path
) -> None:
    assert SNIPPET_URL in snippet.read_text(encoding="utf-8")
    pointed = tmp_path / "snippet.py"
    pointed.write_text(snippet.read_text(encoding="utf-8").replace(SNIPPET_URL, base_url))
    for created in (1, 2):  # it registers, then finds the account taken
        result = run([sys.executable, pointed])
        assert result.returncode == 0, result.stdout + result.stderr
        # The task it completed, then every task of the account, page after page.
        assert result.stdout.splitlines() == ["Write the report completed"] * (1 + created)
