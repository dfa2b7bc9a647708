"""Rate limits: per client address and per email on the auth endpoints, per user elsewhere, shared
through Redis by several processes."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.main import create_app
from tests.conftest import API, PASSWORD, assert_problem, make_settings, register, unique_email
from tests.servers import live_server

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def strict_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(
        f"sqlite:///{tmp_path}/limits.db",
        RATE_LIMIT_LOGIN="12/minute",
        RATE_LIMIT_DEFAULT="5/minute",
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def failed_login(client: TestClient, email: str, **headers: str) -> httpx.Response:
    body = {"email": email, "password": "wrong-password"}
    response: httpx.Response = client.post(f"{API}/auth/login", json=body, headers=headers)
    return response


class TestLoginBudget:
    def test_the_13th_failed_login_is_429_with_a_usable_retry_after(
        self, strict_client: TestClient
    ) -> None:
        email = unique_email()
        for attempt in range(12):
            response = failed_login(strict_client, email)
            assert response.status_code == 401
            assert response.headers["ratelimit-limit"] == "12"
            assert response.headers["ratelimit-remaining"] == str(11 - attempt)
        limited = failed_login(strict_client, email)
        assert_problem(limited, 429)
        retry_after = int(limited.headers["retry-after"])
        assert 1 <= retry_after <= 60
        assert limited.headers["ratelimit-remaining"] == "0"
        assert 0 <= int(limited.headers["ratelimit-reset"]) <= 60

    def test_the_address_budget_covers_register_login_token_and_refresh(
        self, strict_client: TestClient
    ) -> None:
        for _ in range(3):
            strict_client.post(f"{API}/auth/register", json={})
            failed_login(strict_client, unique_email())
            strict_client.post(f"{API}/auth/token", data={"username": "x", "password": "y"})
            strict_client.post(f"{API}/auth/refresh", json={"refresh_token": "nope"})
        assert_problem(strict_client.post(f"{API}/auth/refresh", json={}), 429)

    def test_rotating_addresses_does_not_reset_the_email_budget(self, tmp_path: Path) -> None:
        settings = make_settings(f"sqlite:///{tmp_path}/limits.db", RATE_LIMIT_LOGIN="3/minute")
        # Behind a trusted proxy, uvicorn takes the client address from X-Forwarded-For.
        app = create_app(settings)
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts="*")
        email = unique_email()
        with TestClient(app, raise_server_exceptions=False) as client:
            statuses = [
                failed_login(client, email, **{"X-Forwarded-For": f"10.0.0.{i}"}).status_code
                for i in range(1, 5)
            ]
            assert statuses == [401, 401, 401, 429]
            # Another email from a fresh address is not limited...
            fresh = failed_login(client, unique_email(), **{"X-Forwarded-For": "10.0.1.1"})
            assert fresh.status_code == 401

    def test_one_address_is_limited_across_emails(self, strict_client: TestClient) -> None:
        statuses = [failed_login(strict_client, unique_email()).status_code for _ in range(13)]
        assert statuses == [401] * 12 + [429]


class TestUserBudget:
    def test_authenticated_requests_spend_the_users_budget(self, strict_client: TestClient) -> None:
        account = register(strict_client)
        statuses = [
            strict_client.get(f"{API}/users/me", headers=account.headers).status_code
            for _ in range(6)
        ]
        assert statuses == [200] * 5 + [429]
        other = register(strict_client)
        assert strict_client.get(f"{API}/users/me", headers=other.headers).status_code == 200

    def test_limited_responses_carry_the_budget(self, client: TestClient) -> None:
        account = register(client)
        response = client.get(f"{API}/tasks", headers=account.headers)
        assert response.headers["ratelimit-limit"] == "100000"
        assert int(response.headers["ratelimit-remaining"]) < 100000

    def test_health_is_not_limited(self, client: TestClient) -> None:
        assert "ratelimit-limit" not in client.get(f"{API}/health").headers


def test_two_processes_with_one_redis_share_one_login_budget(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    env = {
        "REDIS_URL": REDIS_URL,
        "RATE_LIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "RATE_LIMIT_LOGIN": "4/minute",
    }
    email = unique_email()
    body = {"email": email, "password": PASSWORD}
    with live_server(url, env=env) as first, live_server(url, env=env) as second:
        statuses = [
            httpx.post(f"{server.url}{API}/auth/login", json=body).status_code
            for server in (first, second, first, second, first)
        ]
    assert statuses == [401, 401, 401, 401, 429]


def test_password_changes_spend_the_login_budget(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/limits.db", RATE_LIMIT_LOGIN="12/minute")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        account = register(client)  # its login spent one of the email's 12
        body = {"current_password": "not-the-password", "new_password": "whatever-new-1"}
        url = f"{API}/users/me/password"
        statuses = [
            client.put(url, json=body, headers=account.headers).status_code for _ in range(12)
        ]
    assert statuses == [400] * 11 + [429]
