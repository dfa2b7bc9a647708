"""Faults as an operator meets them, against real processes: a Redis that is not there, a Redis
that stops answering (CLIENT PAUSE), a SQLite file on a filesystem that fills up, a client that
sends its body slowly while the server shuts down. Each asserts what clients get, that the
server recovers on its own, and that every acknowledged write is readable afterwards.

The Redis servers here are this module's own (`redis-server` on a free port), never a shared one.
"""

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from scripts.servers import HOST, Server, free_port
from tests.conftest import PASSWORD, unique_email
from tests.servers import live_server

API = "/api/v1"
RECOVERY_SECONDS = 20.0  # generous: the machine is shared
# Full paths (a missing binary fails the tests that need it, with its name).
REDIS_SERVER = shutil.which("redis-server") or "redis-server"
REDIS_CLI = shutil.which("redis-cli") or "redis-cli"


@contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A throwaway redis-server on `port`, without persistence, stopped when the block ends."""
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        until(lambda: _redis_answers(port), "redis-server started")
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


def _redis_answers(port: int) -> bool:
    ping = [REDIS_CLI, "-h", HOST, "-p", str(port), "ping"]
    return subprocess.run(ping, capture_output=True, check=False).stdout.strip() == b"PONG"


def until(condition: Callable[[], bool], what: str, seconds: float = RECOVERY_SECONDS) -> float:
    """Poll `condition` until it holds; the seconds it took. Fails after `seconds`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, f"not within {seconds} s: {what}"
        time.sleep(0.1)
    return time.monotonic() - start


def signed_up(http: httpx.Client) -> dict[str, str]:
    body = {"email": unique_email(), "password": PASSWORD}
    assert http.post(f"{API}/auth/register", json=body).status_code == 201
    login = http.post(f"{API}/auth/login", json=body)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def health(http: httpx.Client) -> dict[str, str]:
    response = http.get(f"{API}/health")
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/app.db"


class TestRedis:
    def test_unreachable_redis_is_served_unlimited_then_limited_once_it_is_back(
        self, sqlite_url: str
    ) -> None:
        port = free_port()  # nothing listens there
        env = {"REDIS_URL": f"redis://{HOST}:{port}/0", "METRICS_ENABLED": "true"}
        with live_server(sqlite_url, env=env) as server, client(server) as http:
            headers = signed_up(http)
            created = [
                http.post(f"{API}/tasks", json={"title": f"t{i}"}, headers=headers)
                for i in range(5)
            ]
            assert [r.status_code for r in created] == [201] * 5
            assert "ratelimit-limit" not in created[0].headers
            assert health(http) | {"version": ""} == {
                "status": "degraded", "version": "", "database": "ok", "redis": "unavailable"
            }  # fmt: skip
            failures = _metric(http, "rate_limit_store_failures_total")
            assert failures >= 7  # register, login, five creates
            assert "Redis failed" in server.log.read_text()
            with redis_server(port):
                took = until(lambda: health(http)["status"] == "ok", "health ok with Redis back")
                listed = http.get(f"{API}/tasks", headers=headers)
            assert listed.status_code == 200
            assert listed.headers["ratelimit-limit"] == "100000"
            assert {t["id"] for t in listed.json()["tasks"]} == {r.json()["id"] for r in created}
        print(f"Redis back: limits apply again within {took:.2f} s")

    def test_fail_closed_refuses_with_503_and_keeps_the_connection(self, sqlite_url: str) -> None:
        port = free_port()
        env = {"REDIS_URL": f"redis://{HOST}:{port}/0", "RATE_LIMIT_FAIL_OPEN": "false"}
        with live_server(sqlite_url, env=env) as server, client(server) as http:
            for _ in range(3):  # on the same connection each time
                refused = http.post(
                    f"{API}/auth/register", json={"email": unique_email(), "password": PASSWORD}
                )
                assert refused.status_code == 503
                assert refused.headers["content-type"] == "application/problem+json"
                assert int(refused.headers["retry-after"]) >= 1
            assert health(http)["status"] == "degraded"
            with redis_server(port):
                until(lambda: health(http)["status"] == "ok", "health ok with Redis back")
                signed_up(http)

    def test_paused_redis_costs_at_most_the_timeout(self, sqlite_url: str) -> None:
        port = free_port()
        with redis_server(port):
            env = {"REDIS_URL": f"redis://{HOST}:{port}/0", "RATE_LIMIT_TIMEOUT_MS": "200"}
            with live_server(sqlite_url, env=env) as server, client(server) as http:
                headers = signed_up(http)
                pause = [REDIS_CLI, "-h", HOST, "-p", str(port), "client", "pause", "6000", "all"]
                subprocess.run(pause, check=True, capture_output=True)
                paused_until = time.monotonic() + 6
                served = []
                while time.monotonic() < paused_until - 1:
                    start = time.monotonic()
                    response = http.post(f"{API}/tasks", json={"title": "x"}, headers=headers)
                    served.append((response.status_code, time.monotonic() - start))
                assert {status for status, _ in served} == {201}
                assert len(served) >= 5  # a request waited the timeout, not the pause
                assert max(seconds for _, seconds in served) < 3
                assert health(http)["status"] == "degraded"
                until(lambda: health(http)["status"] == "ok", "Redis answers after the pause")
                limited = http.get(f"{API}/tasks", headers=headers)
                assert limited.headers["ratelimit-limit"] == "100000"
                assert limited.json()["total"] == len(served)


@contextmanager
def client(server: Server) -> Iterator[httpx.Client]:
    """One keep-alive connection: a failure must leave it usable (or say Connection: close)."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def _metric(http: httpx.Client, name: str) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")
