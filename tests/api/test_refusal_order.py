"""Who may call is decided before what they sent, on every route: a token that is no longer
current (here: logged out) gets 401 even when the request's path, query, headers or body are
malformed, and the same request with a current token gets the 422."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import API, Account, assert_problem

MALFORMED: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/tasks/not-a-uuid", {}),
    ("GET", "/tasks?per_page=0", {}),
    ("GET", "/tasks?due_before=0", {}),
    # Valid for the contract, refused by the service: no UTC equivalent.
    ("GET", "/tasks?due_before=0001-01-01T00:00:00%2B01:00", {}),
    ("POST", "/tasks", {"json": {"title": "t", "due_date": "0001-01-01T00:00:00+01:00"}}),
    ("POST", "/tasks", {"json": []}),
    ("POST", "/tasks", {"json": {"title": "t"}, "headers": {"Idempotency-Key": "with space"}}),
    ("PUT", "/tasks/{task}", {"json": {"title": "t"}}),
    ("PATCH", "/tasks/{task}", {"json": {"title": "t"}, "headers": {"If-Match": "x" * 300}}),
    ("DELETE", "/tasks/not-a-uuid", {}),
    ("PATCH", "/users/me", {"json": []}),
    ("PUT", "/users/me/password", {"json": {}}),
]
MALFORMED_AS_ADMIN: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/users?per_page=0", {}),
    ("GET", "/users/not-a-uuid", {}),
    ("PATCH", "/users/{user}", {"json": {"role": "root"}}),
]


def send(
    client: TestClient, account: Account, request: tuple[str, str, dict[str, Any]], **ids: str
) -> Any:
    method, path, options = request
    headers = account.headers | options.get("headers", {})
    url = f"{API}{path.format(**ids)}"
    return client.request(method, url, json=options.get("json"), headers=headers)


def log_out(client: TestClient, account: Account) -> None:
    assert client.post(f"{API}/auth/logout", headers=account.headers).status_code == 204


@pytest.mark.parametrize("request_", MALFORMED, ids=lambda r: f"{r[0]} {r[1]}")
def test_a_revoked_token_is_refused_before_malformed_input(
    client: TestClient, user: Account, request_: tuple[str, str, dict[str, Any]]
) -> None:
    task = client.post(f"{API}/tasks", json={"title": "t"}, headers=user.headers).json()["id"]
    assert_problem(send(client, user, request_, task=task), 422)
    log_out(client, user)
    assert_problem(send(client, user, request_, task=task), 401)


@pytest.mark.parametrize("request_", MALFORMED_AS_ADMIN, ids=lambda r: f"{r[0]} {r[1]}")
def test_a_revoked_admin_token_is_refused_before_malformed_input(
    client: TestClient, admin: Account, user: Account, request_: tuple[str, str, dict[str, Any]]
) -> None:
    assert_problem(send(client, admin, request_, user=user.id), 422)
    log_out(client, admin)
    assert_problem(send(client, admin, request_, user=user.id), 401)
