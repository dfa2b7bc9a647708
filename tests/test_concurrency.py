"""Concurrency against real server processes: no lost writes, no 'database is locked', no
deadlock when more requests are in flight than the pool has connections."""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

import httpx
import pytest

from tests.conftest import PASSWORD, unique_email
from tests.databases import postgres_test_database
from tests.pages import every_item
from tests.servers import live_server

T = TypeVar("T")
API = "/api/v1"


def in_parallel(count: int, call: Callable[[int], T], *, threads: int = 32) -> list[T]:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(call, range(count)))


@pytest.fixture(scope="module")
def fresh_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with postgres_test_database() as url:
        yield url or f"sqlite:///{tmp_path_factory.mktemp('concurrency')}/app.db"


@pytest.fixture(scope="module")
def server(fresh_database_url: str) -> Iterator[str]:
    # A pool far smaller than the number of requests in flight.
    pool = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "0"}
    with live_server(fresh_database_url, workers=2, env=pool) as running:
        yield running.url


def account(base_url: str) -> dict[str, str]:
    email = unique_email()
    with httpx.Client(base_url=base_url) as http:
        assert http.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
        tokens = http.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


def test_many_writers_on_two_processes_lose_nothing(server: str) -> None:
    headers = account(server)

    def create(i: int) -> int:
        with httpx.Client(base_url=server, timeout=60) as http:
            response = http.post(f"{API}/tasks", json={"title": f"task {i}"}, headers=headers)
            return response.status_code

    statuses = in_parallel(120, create)
    assert statuses == [201] * 120
    assert len(every_item(httpx.get, f"{server}{API}/tasks", headers, per_page=100)) == 120


def test_more_requests_in_flight_than_pool_connections(server: str) -> None:
    headers = account(server)
    with httpx.Client(base_url=server) as http:
        task = http.post(f"{API}/tasks", json={"title": "read me"}, headers=headers).json()

    def read(_: int) -> int:
        with httpx.Client(base_url=server, timeout=60) as http:
            return http.get(f"{API}/tasks/{task['id']}", headers=headers).status_code

    assert in_parallel(96, read, threads=48) == [200] * 96


def test_concurrent_writers_with_one_etag_exactly_one_wins(server: str) -> None:
    headers = account(server)
    with httpx.Client(base_url=server) as http:
        task = http.post(f"{API}/tasks", json={"title": "contested"}, headers=headers).json()

    def patch(i: int) -> int:
        with httpx.Client(base_url=server, timeout=60) as http:
            return http.patch(
                f"{API}/tasks/{task['id']}",
                json={"title": f"writer {i}"},
                headers={**headers, "If-Match": '"1"'},
            ).status_code

    statuses = in_parallel(12, patch)
    assert sorted(statuses) == [200] + [412] * 11


def test_concurrent_registrations_of_one_email_give_one_201(server: str) -> None:
    email = unique_email()

    def register(i: int) -> int:
        # Vary the letter case: uniqueness ignores it.
        address = email.upper() if i % 2 else email
        with httpx.Client(base_url=server, timeout=60) as http:
            body = {"email": address, "password": PASSWORD}
            return http.post(f"{API}/auth/register", json=body).status_code

    statuses = in_parallel(12, register)
    assert sorted(statuses) == [201] + [409] * 11


def test_a_token_from_one_process_works_on_another(fresh_database_url: str) -> None:
    with live_server(fresh_database_url) as first, live_server(fresh_database_url) as second:
        headers = account(first.url)
        response = httpx.get(f"{second.url}{API}/users/me", headers=headers)
    assert response.status_code == 200


def test_concurrent_retries_with_one_idempotency_key_create_once(server: str) -> None:
    headers = {**account(server), "Idempotency-Key": "once-only"}

    def post(_: int) -> tuple[int, str | None, str | None]:
        with httpx.Client(base_url=server, timeout=60) as http:
            response = http.post(f"{API}/tasks", json={"title": "once"}, headers=headers)
            task_id = response.json().get("id") if response.status_code == 201 else None
            return response.status_code, response.headers.get("idempotent-replayed"), task_id

    results = in_parallel(10, post)
    created = [r for r in results if r[0] == 201 and r[1] is None]
    replayed = [r for r in results if r[0] == 201 and r[1] == "true"]
    assert len(created) == 1
    assert all(status in (201, 409) for status, _, _ in results)
    assert {task_id for _, _, task_id in replayed} <= {created[0][2]}
    assert len(every_item(httpx.get, f"{server}{API}/tasks", headers)) == 1


def demote_one(api: str, calls: list[tuple[dict[str, str], str]], index: int) -> int:
    caller, target_id = calls[index]
    with httpx.Client(timeout=60) as http:
        response = http.patch(f"{api}/users/{target_id}", json={"role": "user"}, headers=caller)
        return response.status_code


def test_two_admins_demoting_each_other_leave_an_admin(fresh_database_url: str) -> None:
    env = {"FIRST_ADMIN_EMAIL": "root@example.com", "FIRST_ADMIN_PASSWORD": PASSWORD}
    with live_server(fresh_database_url, env=env) as running:
        api = running.url + API
        login = {"email": "root@example.com", "password": PASSWORD}
        token = httpx.post(f"{api}/auth/login", json=login).json()["access_token"]
        keeper = {"Authorization": f"Bearer {token}"}
        for _ in range(5):
            other = account(running.url)
            ids = [httpx.get(f"{api}/users/me", headers=h).json()["id"] for h in (keeper, other)]
            promoted = httpx.patch(f"{api}/users/{ids[1]}", json={"role": "admin"}, headers=keeper)
            assert promoted.status_code == 200
            # Each demotes the other at the same moment: one must lose (409, or 403 once demoted).
            calls = [(keeper, ids[1]), (other, ids[0])]
            statuses = sorted(in_parallel(2, partial(demote_one, api, calls)))
            assert statuses in ([200, 403], [200, 409]), statuses
            roles = [
                httpx.get(f"{api}/users/me", headers=h).json()["role"] for h in (keeper, other)
            ]
            assert sorted(roles) == ["admin", "user"]
            keeper = keeper if roles[0] == "admin" else other
