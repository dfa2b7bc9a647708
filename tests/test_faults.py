"""Faults as an operator meets them, against real processes: a Redis that is not there, a Redis
that stops answering (CLIENT PAUSE), a SQLite file on a filesystem that fills up, SQLite files
that stop taking writes, a client that sends its body slowly while the server shuts down. Each
asserts what clients get, that the server recovers on its own, and that every acknowledged
write is readable afterwards.

The Redis servers here are this module's own (`redis-server` on a free port), never a shared one.
"""

import json
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
MOUNT = shutil.which("mount") or "mount"
UMOUNT = shutil.which("umount") or "umount"
MKFS_EXT4 = shutil.which("mkfs.ext4") or "mkfs.ext4"
CHATTR = shutil.which("chattr") or "chattr"


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
                took = until(lambda: health(http)["status"] == "ok", "health ok with Redis back")
                signed_up(http)
            print(f"Redis back (fail closed): served again within {took:.2f} s")

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
                after = time.monotonic() - paused_until
                slowest = max(seconds for _, seconds in served)
                print(f"Redis paused: slowest request {slowest:.2f} s; ok {after:.2f} s after")
                limited = http.get(f"{API}/tasks", params={"per_page": 100}, headers=headers)
                assert limited.headers["ratelimit-limit"] == "100000"
                assert len(limited.json()["tasks"]) == len(served)


@contextmanager
def client(server: Server) -> Iterator[httpx.Client]:
    """A keep-alive client that checks every answer left its connection usable: the next
    request goes on the same connection, unless the answer said `Connection: close`."""
    kept: list[object] = []  # the connection the next request must use, if any

    def same_connection(response: httpx.Response) -> None:
        stream = response.extensions["network_stream"]
        if kept:
            assert stream is kept.pop(), f"{response.request.url}: a new connection"
        if response.headers.get("connection") != "close":
            kept.append(stream)

    hooks = {"response": [same_connection]}
    with httpx.Client(base_url=server.url, timeout=30, event_hooks=hooks) as http:
        yield http


def _metric(http: httpx.Client, name: str) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


@contextmanager
def small_filesystem(directory: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted on `directory` (needs root), unmounted when the block ends."""
    directory.mkdir()
    subprocess.run(
        [MOUNT, "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)], check=True
    )
    try:
        yield directory
    finally:
        subprocess.run([UMOUNT, "--lazy", str(directory)], check=True)


def fill(path: Path) -> None:
    """Write zeros to `path` until its filesystem has no space left."""
    with path.open("wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass


class TestFullDisk:
    def test_every_endpoint_answers_503_then_serves_again_once_space_is_back(
        self, tmp_path: Path
    ) -> None:
        with small_filesystem(tmp_path / "disk", "3m") as disk:
            url = f"sqlite:///{disk}/app.db"
            acknowledged: dict[str, str] = {}  # task id -> title, as last acknowledged
            with live_server(url) as server, client(server) as http:
                headers = signed_up(http)
                for i in range(20):
                    made = http.post(f"{API}/tasks", json={"title": f"before {i}"}, headers=headers)
                    assert made.status_code == 201
                    acknowledged[made.json()["id"]] = made.json()["title"]
                fill(disk / "filler")
                statuses = exercise(http, headers, acknowledged)
                assert 500 not in statuses
                assert 503 in statuses
                (disk / "filler").unlink()
                took = until(
                    lambda: created(http, headers, acknowledged, "after"), "creates succeed again"
                )
                print(f"disk space back: creates succeed again within {took:.2f} s")
                assert set(exercise(http, headers, acknowledged)) <= {200, 201, 204, 404}
                assert stored(http, headers) == acknowledged
            with live_server(url) as restarted, client(restarted) as http:
                assert created(http, headers, acknowledged, "after a restart")
                assert stored(http, headers) == acknowledged

    def test_a_write_that_fails_for_space_gives_the_wal_s_space_back(self, tmp_path: Path) -> None:
        """A long read (here another process's open read transaction) keeps checkpoints from
        copying the WAL whole, so it grows with every write. Then the disk fills, and the read
        ends: the next write fails for space, checkpoints the WAL (updates of one task rewrite
        pages the database file already has) and truncates it, and the space it held serves
        the next writes, with the disk still full."""
        disk = tmp_path / "disk"
        with (
            small_filesystem(disk, "3m"),
            live_server(f"sqlite:///{disk}/app.db") as server,
            client(server) as http,
        ):
            headers = signed_up(http)
            task = http.post(f"{API}/tasks", json={"title": "t"}, headers=headers).json()
            path = f"{API}/tasks/{task['id']}"
            reader = sqlite3.connect(disk / "app.db", isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM task").fetchall()
            for i in range(60):
                assert http.patch(path, json={"title": f"{i}"}, headers=headers).is_success
            wal = disk / "app.db-wal"
            grown = wal.stat().st_size
            fill(disk / "filler")
            reader.close()
            statuses: list[int] = []

            def written() -> bool:
                patched = http.patch(path, json={"title": "after"}, headers=headers)
                statuses.append(patched.status_code)
                return patched.is_success

            until(written, "a write with the disk still full")
            assert set(statuses) <= {200, 503}
            assert wal.stat().st_size < grown, "the WAL was not truncated"
            assert http.get(path, headers=headers).json()["title"] == "after"


@contextmanager
def ext4_filesystem(directory: Path, size_bytes: int) -> Iterator[Path]:
    """An ext4 filesystem in an image file, loop-mounted on `directory` (needs root); unlike
    tmpfs, it lets a file be made immutable."""
    image = directory.with_suffix(".img")
    with image.open("wb") as file:
        file.truncate(size_bytes)
    subprocess.run([MKFS_EXT4, "-q", str(image)], check=True)
    directory.mkdir()
    subprocess.run([MOUNT, "-o", "loop", str(image), str(directory)], check=True)
    try:
        yield directory
    finally:
        subprocess.run([UMOUNT, str(directory)], check=True)


@contextmanager
def refusing_writes(*paths: Path) -> Iterator[None]:
    """Writes to `paths` fail while the block runs, as on a filesystem gone read-only (the
    immutable attribute; SQLite says "attempt to write a readonly database")."""
    subprocess.run([CHATTR, "+i", *map(str, paths)], check=True)
    try:
        yield
    finally:
        subprocess.run([CHATTR, "-i", *map(str, paths)], check=True)


class TestReadOnlyFiles:
    def test_writes_answer_503_reads_go_on_and_writes_resume_once_the_files_take_them(
        self, tmp_path: Path
    ) -> None:
        """The database file and its WAL stop taking writes under a running server. (Not the
        `-shm` index: SQLite maps it into memory, and a mapping that cannot grow is a SIGBUS;
        a remount would leave it writable in memory.)"""
        with ext4_filesystem(tmp_path / "disk", 32 << 20) as disk:
            acknowledged: dict[str, str] = {}
            with live_server(f"sqlite:///{disk}/app.db") as server, client(server) as http:
                headers = signed_up(http)
                for i in range(5):
                    assert created(http, headers, acknowledged, f"before {i}")
                some = sorted(acknowledged)[0]
                with refusing_writes(disk / "app.db", disk / "app.db-wal"):
                    statuses = exercise(http, headers, acknowledged)
                    assert 500 not in statuses
                    assert 503 in statuses
                    for path in (f"{API}/tasks", f"{API}/tasks/{some}", f"{API}/users/me"):
                        assert http.get(path, headers=headers).status_code == 200, path
                took = until(
                    lambda: created(http, headers, acknowledged, "after"), "creates succeed again"
                )
                print(f"files writable again: creates succeed again within {took:.3f} s")
                assert set(exercise(http, headers, acknowledged)) <= {200, 201, 204}
                assert stored(http, headers) == acknowledged


def created(
    http: httpx.Client, headers: dict[str, str], acknowledged: dict[str, str], title: str
) -> bool:
    made = http.post(f"{API}/tasks", json={"title": title}, headers=headers)
    assert made.status_code in (201, 503), made.text
    if made.status_code == 201:
        acknowledged[made.json()["id"]] = title
    return made.status_code == 201


def exercise(
    http: httpx.Client, headers: dict[str, str], acknowledged: dict[str, str]
) -> list[int]:
    """Every kind of endpoint once or more, on one connection; the statuses. What was
    acknowledged is recorded in `acknowledged`."""
    statuses = []
    some = sorted(acknowledged)
    for i in range(10):
        body = {"title": f"full {i}"}
        for key in (None, f"key-{i}-{time.monotonic_ns()}"):
            key_header = {} if key is None else {"Idempotency-Key": key}
            made = http.post(f"{API}/tasks", json=body, headers=headers | key_header)
            statuses.append(made.status_code)
            if made.status_code == 201:
                acknowledged[made.json()["id"]] = body["title"]
    for i, task_id in enumerate(some[:4]):
        patched = http.patch(
            f"{API}/tasks/{task_id}", json={"title": f"patched {i}"}, headers=headers
        )
        statuses.append(patched.status_code)
        if patched.status_code == 200:
            acknowledged[task_id] = f"patched {i}"
        replaced = http.put(
            f"{API}/tasks/{task_id}",
            json={"title": f"put {i}", "priority": "high", "status": "completed"},
            headers=headers,
        )
        statuses.append(replaced.status_code)
        if replaced.status_code == 200:
            acknowledged[task_id] = f"put {i}"
    deleted = http.delete(f"{API}/tasks/{some[-1]}", headers=headers)
    statuses.append(deleted.status_code)
    if deleted.status_code == 204:
        del acknowledged[some[-1]]
    statuses.append(http.get(f"{API}/tasks", headers=headers).status_code)
    statuses.append(http.get(f"{API}/tasks/{some[0]}", headers=headers).status_code)
    statuses.append(http.get(f"{API}/users/me", headers=headers).status_code)
    statuses.append(
        http.patch(f"{API}/users/me", json={"full_name": "Ada"}, headers=headers).status_code
    )
    email = unique_email()
    statuses.append(
        http.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD}).status_code
    )
    statuses.append(http.get(f"{API}/health").status_code)
    return statuses


def stored(http: httpx.Client, headers: dict[str, str]) -> dict[str, str]:
    listing = http.get(f"{API}/tasks", params={"per_page": 100}, headers=headers)
    assert listing.status_code == 200
    return {task["id"]: task["title"] for task in listing.json()["tasks"]}


def exchange(server: Server, request: bytes, *, then: bytes = b"", pause: float = 0.0) -> bytes:
    """Send `request` on a new connection (and `then`, after `pause` s); everything the server
    sends until it closes the connection."""
    with socket.create_connection((HOST, server.port), timeout=30) as connection:
        connection.sendall(request)
        if then:
            time.sleep(pause)
            connection.sendall(then)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def problem_of(answer: bytes, status: int) -> dict[str, Any]:
    """The problem+json answer of `status` that closes the connection."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), lines[0]
    fields = {name.lower(): value for name, _, value in (f.partition(": ") for f in lines[1:])}
    assert fields["content-type"] == "application/problem+json"
    assert fields["connection"] == "close"
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status
    assert fields["x-request-id"] == problem["request_id"]
    return problem


class TestClients:
    FRAMING = {
        "MAX_HEADER_BYTES": "8192",
        "MAX_HEADER_COUNT": "20",
        "REQUEST_HEADER_TIMEOUT_S": "1",
        "REQUEST_BODY_TIMEOUT_S": "1",
    }

    def test_framing_over_its_bounds_is_a_problem_and_a_closed_connection(
        self, sqlite_url: str
    ) -> None:
        with live_server(sqlite_url, env=self.FRAMING) as server:
            get = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"
            problem_of(exchange(server, get + b"X-Big: " + b"a" * 9000 + b"\r\n\r\n"), 431)
            many = b"".join(b"X-%d: y\r\n" % i for i in range(21))
            problem_of(exchange(server, get + many + b"\r\n"), 431)
            problem_of(exchange(server, b"NOT HTTP AT ALL\r\n\r\n"), 400)
            start = time.monotonic()
            problem_of(exchange(server, get), 408)  # the blank line never comes
            problem_of(exchange(server, b""), 408)  # a connection that sends nothing
            body = b'{"email": "a@example.com", "password": "correct-horse-battery"}'
            head = (
                b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            )
            problem = problem_of(exchange(server, head + body[:10]), 408)  # the rest never comes
            assert problem["instance"] == "/api/v1/auth/register"
            assert time.monotonic() - start < 3 * RECOVERY_SECONDS
            with client(server) as http:  # the server is fine
                assert health(http)["status"] == "ok"

    def test_sigterm_answers_a_slow_upload_503_and_lets_other_requests_finish(
        self, sqlite_url: str
    ) -> None:
        with live_server(sqlite_url) as server:
            with client(server) as http:
                headers = signed_up(http)
            body = b'{"title": "a slow upload"}'
            head = (
                f"POST {API}/tasks HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: {headers['Authorization']}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            with socket.create_connection((HOST, server.port), timeout=30) as upload:
                upload.sendall(head + body[:5])
                time.sleep(0.5)  # the app waits for the rest of the body
                start = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                answer = b""
                while chunk := upload.recv(65536):  # the rest of the body never comes
                    answer += chunk
            problem = problem_of(answer, 503)
            assert answer.split(b"\r\n\r\n")[0].lower().count(b"retry-after: ") == 1
            assert problem["detail"].startswith("The server is shutting down")
            assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
            print(f"SIGTERM with a slow upload: exited after {time.monotonic() - start:.2f} s")
        with live_server(sqlite_url) as restarted, client(restarted) as http:
            listing = http.get(f"{API}/tasks", headers=headers)
            assert listing.json()["tasks"] == []  # the refused upload changed nothing
