"""Process-level guarantees: nothing acknowledged is lost when a server process is killed, and
SIGTERM lets in-flight requests finish."""

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from app.api.middleware.access_log import worker_files
from tests.conftest import PASSWORD, unique_email
from tests.databases import postgres_test_database
from tests.pages import every_item
from tests.servers import live_server

API = "/api/v1"


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    with postgres_test_database() as url:
        yield url or f"sqlite:///{tmp_path}/app.db"


def bearer(base_url: str) -> dict[str, str]:
    email = unique_email()
    httpx.post(f"{base_url}{API}/auth/register", json={"email": email, "password": PASSWORD})
    login = httpx.post(f"{base_url}{API}/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def test_sigkill_mid_load_loses_no_acknowledged_task(fresh_database_url: str) -> None:
    with live_server(fresh_database_url) as victim, live_server(fresh_database_url) as survivor:
        headers = bearer(survivor.url)
        acknowledged: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def client(number: int) -> None:
            with httpx.Client(timeout=30) as http:
                for i in range(400):
                    if stop.is_set():
                        return
                    target = (victim if (number + i) % 2 else survivor).url
                    try:
                        response = http.post(
                            f"{target}{API}/tasks", json={"title": f"{number}-{i}"}, headers=headers
                        )
                    except httpx.TransportError:
                        continue  # the victim is gone: not acknowledged, nothing to find
                    if response.status_code == 201:
                        with lock:
                            acknowledged.append(response.json()["id"])

        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(client, n) for n in range(8)]
            time.sleep(1.5)
            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait(timeout=10)
            time.sleep(0.5)
            stop.set()
            for future in futures:
                future.result()

        assert len(acknowledged) > 50
        # The killed process comes back on the same database and sees every acknowledged task.
        with live_server(fresh_database_url) as restarted:
            listed = every_item(httpx.get, f"{restarted.url}{API}/tasks", headers, per_page=100)
            stored = {task["id"] for task in listed}
    assert set(acknowledged) <= stored


def resident_kib(process: subprocess.Popen[bytes]) -> int:
    """The resident memory of a running process (uvicorn with one worker serves in it)."""
    assert process.poll() is None, "the server exited"
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


def test_sigterm_finishes_in_flight_requests_then_exits_cleanly(fresh_database_url: str) -> None:
    # Expensive hashing makes registration slow enough to be in flight when SIGTERM arrives.
    memory_kib = 131072
    slow = {"ARGON2_TIME_COST": "4", "ARGON2_MEMORY_COST_KIB": str(memory_kib)}
    with live_server(fresh_database_url, env=slow) as server:
        idle_kib = resident_kib(server.process)
        with ThreadPoolExecutor(max_workers=1) as pool:
            body = {"email": unique_email(), "password": PASSWORD}
            in_flight = pool.submit(
                httpx.post, f"{server.url}{API}/auth/register", json=body, timeout=60
            )
            # In flight for sure once argon2id has taken its memory (a fixed sleep was not
            # enough on a loaded machine: the signal came before the connection).
            while resident_kib(server.process) < idle_kib + memory_kib // 2:
                assert not in_flight.done(), "the registration ended before it was seen hashing"
                time.sleep(0.005)
            server.process.send_signal(signal.SIGTERM)
            response = in_flight.result()
        # uvicorn re-raises the signal after shutdown (lifespan included: the pool is closed).
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert response.status_code == 201


def test_a_stalled_upload_does_not_hold_up_other_writers(fresh_database_url: str) -> None:
    """A body arriving slowly is read before the write transaction opens, so SQLite's write lock
    is not held while waiting for it (with a short busy timeout, a held lock would make the other
    create fail)."""
    with live_server(fresh_database_url, env={"SQLITE_BUSY_TIMEOUT_MS": "1000"}) as server:
        slow, other = bearer(server.url), bearer(server.url)
        body = b'{"title": "a slow upload"}'
        host, port = "127.0.0.1", server.port
        with socket.create_connection((host, port), timeout=30) as upload:
            head = (
                f"POST {API}/tasks HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: {slow['Authorization']}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            upload.sendall(head.encode() + body[:5])
            time.sleep(0.5)  # the server now waits for the rest of the body
            meanwhile = httpx.post(
                f"{server.url}{API}/tasks", json={"title": "ordinary"}, headers=other, timeout=30
            )
            upload.sendall(body[5:])
            answer = upload.recv(65536).decode()
    assert meanwhile.status_code == 201, meanwhile.text
    assert answer.startswith("HTTP/1.1 201")


def tasks_401s_by_worker(metrics_dir: Path) -> dict[str, float]:
    """How many unauthenticated GET /api/v1/tasks each worker process counted, from its file
    (read while the workers write; a file is empty for a moment after its worker creates it)."""
    counts: dict[str, float] = {}
    for path in worker_files(str(metrics_dir)):
        for metric in MultiProcessCollector.merge([path]):  # type: ignore[no-untyped-call]
            for sample in metric.samples:
                labels = sample.labels
                if sample.name == "http_requests_total" and labels["route"] == "/api/v1/tasks":
                    counts[path] = sample.value
    return counts


def test_metrics_of_several_workers_add_up(fresh_database_url: str, tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, whichever worker answers /metrics counts every worker's
    requests (without it, each reports its own share)."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {"METRICS_ENABLED": "true", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with live_server(fresh_database_url, workers=2, env=env) as server:
        served = 0
        # One connection per request, until both workers have served some.
        while len(tasks_401s_by_worker(metrics_dir)) < 2 and served < 2000:
            assert httpx.get(f"{server.url}{API}/tasks").status_code == 401
            served += 1
        assert len(tasks_401s_by_worker(metrics_dir)) == 2, "one worker served every request"
        line = f'http_requests_total{{method="GET",route="/api/v1/tasks",status="401"}} {served}.0'
        for _ in range(4):  # whichever worker answers
            assert line in httpx.get(f"{server.url}/metrics").text.splitlines()
