"""`python -m app create-admin EMAIL`: the command operators use to make the first admin."""

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import API, PASSWORD, make_settings

ROOT = Path(__file__).resolve().parents[1]


def create_admin(database_url: str, email: str, answers: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "8",
    }
    return subprocess.run(
        [sys.executable, "-m", "app", "create-admin", email],
        cwd=ROOT,
        env=env,
        input=answers,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_creates_an_admin_who_can_log_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    result = create_admin(url, "root@example.com", f"{PASSWORD}\n{PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert "Created admin root@example.com" in result.stdout
    with TestClient(create_app(make_settings(url))) as client:
        login = client.post(
            f"{API}/auth/login", json={"email": "root@example.com", "password": PASSWORD}
        )
        assert login.status_code == 200
        token = login.json()["access_token"]
        me = client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "admin"


def test_never_overwrites_an_existing_user(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    assert create_admin(url, "root@example.com", f"{PASSWORD}\n{PASSWORD}\n").returncode == 0
    again = create_admin(url, "ROOT@example.com", "another-password\nanother-password\n")
    assert again.returncode == 1
    assert "already registered" in again.stderr


def test_refuses_a_short_password_or_a_mismatch(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    short = create_admin(url, "root@example.com", "short\nshort\n")
    assert short.returncode == 2
    assert "password" in short.stderr
    mismatch = create_admin(url, "root@example.com", f"{PASSWORD}\nsomething-else\n")
    assert mismatch.returncode == 2
    assert "differ" in mismatch.stderr
