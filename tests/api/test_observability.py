"""Request ids, the access log, X-Process-Time and metrics; secrets never reach a log."""

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from app.api.middleware.access_log import MULTIPROCESS_DIR_VARIABLE, Metrics
from app.core.logging import JsonFormatter, RequestIdFilter
from app.main import create_app
from tests.conftest import API, PASSWORD, assert_problem, make_settings, register


class CapturedLog:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def access(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == "app.access"]


@pytest.fixture
def log() -> Iterator[CapturedLog]:
    """Every log record of the test (DEBUG and up), as the JSON lines production writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield CapturedLog(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_one_access_line_per_request_with_route_template_and_user(
    client: TestClient, log: CapturedLog
) -> None:
    account = register(client)
    task = client.post(f"{API}/tasks", json={"title": "t"}, headers=account.headers).json()
    client.get(f"{API}/tasks/{task['id']}", headers={**account.headers, "X-Request-ID": "rid-1"})
    client.get(f"{API}/tasks/{task['id']}", headers={"X-Request-ID": "rid-2"})
    lines = {line["request_id"]: line for line in log.access()}
    ok = lines["rid-1"]
    assert ok["method"] == "GET"
    assert ok["route"] == "/api/v1/tasks/{task_id}"
    assert ok["status"] == 200
    assert ok["user_id"] == account.id
    assert isinstance(ok["duration_ms"], float)
    assert lines["rid-2"]["status"] == 401
    assert lines["rid-2"]["user_id"] is None


def test_the_request_id_is_in_the_response_the_problem_and_the_log(
    client: TestClient, log: CapturedLog
) -> None:
    response = client.get(f"{API}/users/me", headers={"X-Request-ID": "follow-me"})
    assert response.headers["x-request-id"] == "follow-me"
    assert assert_problem(response, 401)["request_id"] == "follow-me"
    statuses = [line["status"] for line in log.access() if line["request_id"] == "follow-me"]
    assert statuses == [401]


def test_passwords_and_tokens_never_reach_a_log(client: TestClient, log: CapturedLog) -> None:
    account = register(client)
    client.post(f"{API}/auth/login", json={"email": account.email, "password": "wrong-one!"})
    client.post(f"{API}/auth/refresh", json={"refresh_token": account.refresh_token})
    client.get(f"{API}/users/me", headers=account.headers)
    client.put(
        f"{API}/users/me/password",
        json={"current_password": PASSWORD, "new_password": "brand-new-secret"},
        headers=account.headers,
    )
    text = log.stream.getvalue()
    assert log.access()
    for secret in (PASSWORD, "wrong-one!", "brand-new-secret", account.access_token,
                   account.refresh_token, "Bearer"):  # fmt: skip
        assert secret not in text


def test_responses_say_how_long_they_took(client: TestClient) -> None:
    assert float(client.get(f"{API}/health").headers["x-process-time"]) >= 0


def test_metrics_are_off_by_default(client: TestClient) -> None:
    assert_problem(client.get("/metrics"), 404)


def test_metrics_count_requests_by_route_template_and_status(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/metrics.db", METRICS_ENABLED=True)
    with TestClient(create_app(settings)) as client:
        client.get(f"{API}/health")
        client.get(f"{API}/tasks/0b5a3f6e-8d47-4c8b-9f3e-2d1c7a9e4b10")
        body = client.get("/metrics").text
    assert 'http_requests_total{method="GET",route="/api/v1/health",status="200"} 1.0' in body
    assert (
        'http_requests_total{method="GET",route="/api/v1/tasks/{task_id}",status="401"} 1.0' in body
    )
    assert "http_request_duration_seconds_bucket" in body


def test_metrics_of_worker_processes_skip_a_file_still_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker creates its file before sizing it; one read then, or left so by a worker killed
    then, must not fail the scrape of every other worker's values."""
    worker = MmapedDict(str(tmp_path / "counter_101.db"))  # type: ignore[no-untyped-call]
    key = mmap_key("http_requests", "http_requests_total", ["route"], ["/api/v1/tasks"], "Served.")
    worker.write_value(key, 7.0, 0.0)  # type: ignore[no-untyped-call]
    worker.close()  # type: ignore[no-untyped-call]
    (tmp_path / "counter_102.db").touch()
    monkeypatch.setenv(MULTIPROCESS_DIR_VARIABLE, str(tmp_path))
    exposition = Metrics().exposition().decode()
    assert 'http_requests_total{route="/api/v1/tasks"} 7.0' in exposition.splitlines()
