"""Bodies over MAX_BODY_BYTES are refused with 413 before they are read whole."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import API, Account, assert_problem, make_settings, register

LIMIT = 1024


@pytest.fixture
def small_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(f"sqlite:///{tmp_path}/body.db", MAX_BODY_BYTES=LIMIT)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def account(small_client: TestClient) -> Account:
    return register(small_client)


def test_a_body_within_the_limit_is_accepted(small_client: TestClient, account: Account) -> None:
    body = {"title": "t", "description": "x" * 900}
    assert small_client.post(f"{API}/tasks", json=body, headers=account.headers).status_code == 201


def test_a_declared_length_over_the_limit_is_413(
    small_client: TestClient, account: Account
) -> None:
    response = small_client.post(
        f"{API}/tasks",
        content=b'{"title": "' + b"x" * 2000 + b'"}',
        headers={**account.headers, "Content-Type": "application/json"},
    )
    body = assert_problem(response, 413)
    assert str(LIMIT) in body["detail"]


def test_a_chunked_body_over_the_limit_is_413(small_client: TestClient, account: Account) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"title": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    response = small_client.post(
        f"{API}/tasks",
        content=chunks(),
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


def test_the_default_limit_is_one_mebibyte() -> None:
    assert make_settings("sqlite://").MAX_BODY_BYTES == 1024 * 1024
