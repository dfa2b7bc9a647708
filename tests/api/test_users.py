"""The current user's profile and password, and user administration by admins."""

import asyncio
import uuid
from datetime import datetime
from typing import Any, NamedTuple

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.domain.models import Task
from app.services import users as users_service
from generated import models as api
from tests.conftest import (
    API,
    PASSWORD,
    Account,
    app_of,
    assert_problem,
    execute,
    log_in,
    make_admin,
    register,
    run_on_app,
    unique_email,
)
from tests.pages import every_item

USER_KEYS = set(api.User.model_fields)  # every property the contract declares
NEW_PASSWORD = "staple-battery-horse"


def assert_user(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == USER_KEYS
    return body


def login_status(client: TestClient, email: str, password: str = PASSWORD) -> int:
    response = client.post(f"{API}/auth/login", json={"email": email, "password": password})
    status: int = response.status_code
    return status


class Count(NamedTuple):
    total: int


def task_count(client: TestClient, user_id: str) -> int:
    """The user's tasks as stored (not through the API, which would need their token)."""
    tasks = Task.metadata.tables["task"]
    query = select(func.count().label("total")).where(tasks.c.user_id == uuid.UUID(user_id))
    [(total,)] = execute(client, query, Count)
    return total


class TestGetCurrentUser:
    def test_returns_the_user(self, client: TestClient, user: Account) -> None:
        body = assert_user(client.get(f"{API}/users/me", headers=user.headers))
        assert body["id"] == user.id
        assert body["email"] == user.email
        assert body["role"] == "user"
        assert body["is_active"] is True

    def test_without_token_is_401(self, client: TestClient) -> None:
        assert_problem(client.get(f"{API}/users/me"), 401)


class TestUpdateCurrentUser:
    def test_changes_full_name_and_updated_at(self, client: TestClient, user: Account) -> None:
        before = assert_user(client.get(f"{API}/users/me", headers=user.headers))
        response = client.patch(f"{API}/users/me", json={"full_name": "Ada"}, headers=user.headers)
        after = assert_user(response)
        assert after["full_name"] == "Ada"
        assert after["email"] == user.email
        assert after["created_at"] == before["created_at"]
        assert datetime.fromisoformat(after["updated_at"]) >= datetime.fromisoformat(
            before["updated_at"]
        )
        me = client.get(f"{API}/users/me", headers=user.headers)
        assert me.json()["full_name"] == "Ada"

    def test_full_name_can_be_cleared(self, client: TestClient, user: Account) -> None:
        client.patch(f"{API}/users/me", json={"full_name": "Ada"}, headers=user.headers)
        response = client.patch(f"{API}/users/me", json={"full_name": None}, headers=user.headers)
        assert assert_user(response)["full_name"] is None

    def test_empty_body_changes_nothing(self, client: TestClient, user: Account) -> None:
        before = client.get(f"{API}/users/me", headers=user.headers).json()
        assert assert_user(client.patch(f"{API}/users/me", json={}, headers=user.headers)) == before

    def test_new_email_is_used_to_log_in(self, client: TestClient, user: Account) -> None:
        email = unique_email("renamed")
        response = client.patch(f"{API}/users/me", json={"email": email}, headers=user.headers)
        assert assert_user(response)["email"] == email
        assert login_status(client, email) == 200
        assert login_status(client, user.email) == 401

    @pytest.mark.parametrize("case", [str.lower, str.upper])
    def test_email_of_another_user_is_409(
        self, client: TestClient, user: Account, other_user: Account, case: Any
    ) -> None:
        response = client.patch(
            f"{API}/users/me", json={"email": case(other_user.email)}, headers=user.headers
        )
        assert_problem(response, 409)
        assert client.get(f"{API}/users/me", headers=user.headers).json()["email"] == user.email

    def test_own_email_in_other_case_is_accepted(self, client: TestClient, user: Account) -> None:
        upper = user.email.upper()
        response = client.patch(f"{API}/users/me", json={"email": upper}, headers=user.headers)
        assert assert_user(response)["email"] == upper
        assert login_status(client, user.email) == 200

    @pytest.mark.parametrize(
        "data",
        [{"role": "admin"}, {"is_active": False}, {"password": "new-password-123"}],
    )
    def test_other_fields_are_422_and_change_nothing(
        self, client: TestClient, user: Account, data: dict[str, Any]
    ) -> None:
        before = client.get(f"{API}/users/me", headers=user.headers).json()
        response = client.patch(f"{API}/users/me", json=data, headers=user.headers)
        body = assert_problem(response, 422)
        assert [e["loc"] for e in body["errors"]] == [["body", next(iter(data))]]
        assert client.get(f"{API}/users/me", headers=user.headers).json() == before

    @pytest.mark.parametrize(
        "data", [{"email": "not-an-email"}, {"full_name": ""}, {"full_name": "x" * 101}]
    )
    def test_invalid_value_is_422(
        self, client: TestClient, user: Account, data: dict[str, Any]
    ) -> None:
        assert_problem(client.patch(f"{API}/users/me", json=data, headers=user.headers), 422)

    def test_without_token_is_401(self, client: TestClient) -> None:
        assert_problem(client.patch(f"{API}/users/me", json={"full_name": "Ada"}), 401)


class TestChangePassword:
    def change(self, client: TestClient, user: Account, current: str, new: str) -> Any:
        return client.put(
            f"{API}/users/me/password",
            json={"current_password": current, "new_password": new},
            headers=user.headers,
        )

    def test_new_password_replaces_the_old(self, client: TestClient, user: Account) -> None:
        response = self.change(client, user, PASSWORD, NEW_PASSWORD)
        assert response.status_code == 204
        assert response.content == b""
        assert login_status(client, user.email, NEW_PASSWORD) == 200
        assert login_status(client, user.email, PASSWORD) == 401

    def test_wrong_current_password_is_400(self, client: TestClient, user: Account) -> None:
        assert_problem(self.change(client, user, "wrong-password", NEW_PASSWORD), 400)
        assert login_status(client, user.email, PASSWORD) == 200
        assert login_status(client, user.email, NEW_PASSWORD) == 401

    def test_short_new_password_is_422(self, client: TestClient, user: Account) -> None:
        body = assert_problem(self.change(client, user, PASSWORD, "short"), 422)
        assert [e["loc"] for e in body["errors"]] == [["body", "new_password"]]
        assert login_status(client, user.email, PASSWORD) == 200

    def test_missing_current_password_is_422(self, client: TestClient, user: Account) -> None:
        response = client.put(
            f"{API}/users/me/password", json={"new_password": NEW_PASSWORD}, headers=user.headers
        )
        assert_problem(response, 422)

    def test_without_token_is_401(self, client: TestClient) -> None:
        response = client.put(
            f"{API}/users/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert_problem(response, 401)


class TestListUsers:
    def test_lists_every_user_newest_first(
        self, client: TestClient, admin: Account, user: Account, other_user: Account
    ) -> None:
        response = client.get(f"{API}/users", headers=admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"users", "per_page", "next_cursor"}
        assert body["next_cursor"] is None
        assert body["per_page"] == 20
        assert [u["id"] for u in body["users"]] == [other_user.id, user.id, admin.id]
        assert all(set(u) == USER_KEYS for u in body["users"])

    def test_non_admin_is_403(self, client: TestClient, user: Account) -> None:
        assert_problem(client.get(f"{API}/users", headers=user.headers), 403)

    def test_without_token_is_401(self, client: TestClient) -> None:
        assert_problem(client.get(f"{API}/users"), 401)

    def test_filters_by_role(self, client: TestClient, admin: Account, user: Account) -> None:
        body = client.get(f"{API}/users", params={"role": "admin"}, headers=admin.headers).json()
        assert [u["id"] for u in body["users"]] == [admin.id]
        body = client.get(f"{API}/users", params={"role": "user"}, headers=admin.headers).json()
        assert [u["id"] for u in body["users"]] == [user.id]

    def test_filters_by_active_flag(
        self, client: TestClient, admin: Account, user: Account, other_user: Account
    ) -> None:
        client.patch(f"{API}/users/{user.id}", json={"is_active": False}, headers=admin.headers)
        inactive = client.get(f"{API}/users", params={"is_active": "false"}, headers=admin.headers)
        assert [u["id"] for u in inactive.json()["users"]] == [user.id]
        active = client.get(f"{API}/users", params={"is_active": "true"}, headers=admin.headers)
        assert [u["id"] for u in active.json()["users"]] == [other_user.id, admin.id]

    def test_searches_email_without_regard_to_case(
        self, client: TestClient, admin: Account, user: Account
    ) -> None:
        needle = register(client, unique_email("needle"))
        response = client.get(f"{API}/users", params={"q": "NEEDLE"}, headers=admin.headers)
        body = response.json()
        assert [u["id"] for u in body["users"]] == [needle.id]

    def test_search_treats_wildcards_literally(self, client: TestClient, admin: Account) -> None:
        register(client)
        response = client.get(f"{API}/users", params={"q": "%"}, headers=admin.headers)
        assert response.json()["users"] == []

    def test_pages(
        self, client: TestClient, admin: Account, user: Account, other_user: Account
    ) -> None:
        first = client.get(f"{API}/users", params={"per_page": 1}, headers=admin.headers)
        assert [u["id"] for u in first.json()["users"]] == [other_user.id]
        params = {"per_page": 1, "cursor": first.json()["next_cursor"]}
        second = client.get(f"{API}/users", params=params, headers=admin.headers)
        assert second.json()["users"] == [
            client.get(f"{API}/users/{user.id}", headers=admin.headers).json()
        ]
        assert second.headers["Link"] == (
            f'</api/v1/users?per_page=1&cursor={second.json()["next_cursor"]}>; rel="next"'
        )
        everyone = every_item(client.get, f"{API}/users", admin.headers, per_page=1)
        assert [u["id"] for u in everyone] == [other_user.id, user.id, admin.id]

    def test_a_cursor_is_bound_to_its_filters(
        self, client: TestClient, admin: Account, user: Account, other_user: Account
    ) -> None:
        params = {"per_page": 1, "role": "user"}
        first = client.get(f"{API}/users", params=params, headers=admin.headers).json()
        cursor = first["next_cursor"]
        assert cursor is not None
        other = {"per_page": 1, "role": "admin", "cursor": cursor}
        response = client.get(f"{API}/users", params=other, headers=admin.headers)
        body = assert_problem(response, 422)
        assert [e["loc"] for e in body["errors"]] == [["query", "cursor"]]

    @pytest.mark.parametrize(
        ("params", "name"),
        [
            ({"per_page": 101}, "per_page"),
            ({"per_page": 0}, "per_page"),
            ({"cursor": "x"}, "cursor"),
            ({"cursor": "a b"}, "cursor"),
            ({"role": "owner"}, "role"),
            ({"is_active": "maybe"}, "is_active"),
            ({"q": ""}, "q"),
        ],
    )
    def test_invalid_query_is_422(
        self, client: TestClient, admin: Account, params: dict[str, Any], name: str
    ) -> None:
        response = client.get(f"{API}/users", params=params, headers=admin.headers)
        body = assert_problem(response, 422)
        assert [e["loc"] for e in body["errors"]] == [["query", name]]

    def test_a_non_admin_is_refused_before_a_bad_query(
        self, client: TestClient, user: Account
    ) -> None:
        response = client.get(f"{API}/users", params={"per_page": 0}, headers=user.headers)
        assert_problem(response, 403)


class TestGetUser:
    def test_admin_gets_any_user(self, client: TestClient, admin: Account, user: Account) -> None:
        body = assert_user(client.get(f"{API}/users/{user.id}", headers=admin.headers))
        assert body == client.get(f"{API}/users/me", headers=user.headers).json()

    def test_non_admin_is_403(self, client: TestClient, user: Account, other_user: Account) -> None:
        assert_problem(client.get(f"{API}/users/{other_user.id}", headers=user.headers), 403)
        assert_problem(client.get(f"{API}/users/{user.id}", headers=user.headers), 403)

    def test_unknown_user_is_404(self, client: TestClient, admin: Account) -> None:
        assert_problem(client.get(f"{API}/users/{uuid.uuid4()}", headers=admin.headers), 404)

    def test_invalid_id_is_422(self, client: TestClient, admin: Account) -> None:
        body = assert_problem(client.get(f"{API}/users/abc", headers=admin.headers), 422)
        assert [e["loc"] for e in body["errors"]] == [["path", "user_id"]]

    def test_without_token_is_401(self, client: TestClient, user: Account) -> None:
        assert_problem(client.get(f"{API}/users/{user.id}"), 401)


class TestUpdateUser:
    def test_admin_changes_role_active_flag_and_name(
        self, client: TestClient, admin: Account, user: Account
    ) -> None:
        changes = {"role": "admin", "is_active": False, "full_name": "Ada"}
        response = client.patch(f"{API}/users/{user.id}", json=changes, headers=admin.headers)
        body = assert_user(response)
        assert {k: body[k] for k in changes} == changes
        stored = client.get(f"{API}/users/{user.id}", headers=admin.headers).json()
        assert stored == body

    def test_promoted_user_can_administer(
        self, client: TestClient, admin: Account, user: Account
    ) -> None:
        client.patch(f"{API}/users/{user.id}", json={"role": "admin"}, headers=admin.headers)
        assert client.get(f"{API}/users", headers=user.headers).status_code == 200

    @pytest.mark.parametrize("data", [{"email": "x@example.com"}, {"password": PASSWORD}])
    def test_unknown_field_is_422(
        self, client: TestClient, admin: Account, user: Account, data: dict[str, Any]
    ) -> None:
        response = client.patch(f"{API}/users/{user.id}", json=data, headers=admin.headers)
        assert_problem(response, 422)

    def test_unknown_user_is_404(self, client: TestClient, admin: Account) -> None:
        response = client.patch(
            f"{API}/users/{uuid.uuid4()}", json={"full_name": "Ada"}, headers=admin.headers
        )
        assert_problem(response, 404)

    def test_non_admin_is_403(self, client: TestClient, user: Account) -> None:
        response = client.patch(
            f"{API}/users/{user.id}", json={"role": "admin"}, headers=user.headers
        )
        assert_problem(response, 403)
        assert client.get(f"{API}/users/me", headers=user.headers).json()["role"] == "user"

    def test_without_token_is_401(self, client: TestClient, user: Account) -> None:
        assert_problem(client.patch(f"{API}/users/{user.id}", json={"full_name": "A"}), 401)

    @pytest.mark.parametrize("data", [{"role": "user"}, {"is_active": False}])
    def test_last_active_admin_cannot_demote_or_deactivate_themselves(
        self, client: TestClient, admin: Account, data: dict[str, Any]
    ) -> None:
        response = client.patch(f"{API}/users/{admin.id}", json=data, headers=admin.headers)
        assert_problem(response, 409)
        me = client.get(f"{API}/users/me", headers=admin.headers).json()
        assert me["role"] == "admin"
        assert me["is_active"] is True

    def test_last_active_admin_may_change_their_name(
        self, client: TestClient, admin: Account
    ) -> None:
        response = client.patch(
            f"{API}/users/{admin.id}", json={"full_name": "Root"}, headers=admin.headers
        )
        assert assert_user(response)["full_name"] == "Root"

    @pytest.mark.parametrize("data", [{"role": "user"}, {"is_active": False}])
    def test_admin_can_step_down_when_another_active_admin_exists(
        self, client: TestClient, admin: Account, data: dict[str, Any]
    ) -> None:
        make_admin(client)
        response = client.patch(f"{API}/users/{admin.id}", json=data, headers=admin.headers)
        body = assert_user(response)
        assert {k: body[k] for k in data} == data

    def test_deactivated_admin_does_not_count_as_another_admin(
        self, client: TestClient, admin: Account
    ) -> None:
        second = make_admin(client)
        response = client.patch(
            f"{API}/users/{second.id}", json={"is_active": False}, headers=admin.headers
        )
        assert response.status_code == 200, response.text
        response = client.patch(
            f"{API}/users/{admin.id}", json={"role": "user"}, headers=admin.headers
        )
        assert_problem(response, 409)


class TestDeleteUser:
    def test_deletes_the_user_and_their_tasks(
        self, client: TestClient, admin: Account, user: Account
    ) -> None:
        created = client.post(f"{API}/tasks", json={"title": "t"}, headers=user.headers)
        assert created.status_code == 201, created.text
        assert task_count(client, user.id) == 1
        response = client.delete(f"{API}/users/{user.id}", headers=admin.headers)
        assert response.status_code == 204
        assert response.content == b""
        assert_problem(client.get(f"{API}/users/{user.id}", headers=admin.headers), 404)
        assert task_count(client, user.id) == 0
        assert login_status(client, user.email) == 401

    def test_email_is_free_again(self, client: TestClient, admin: Account, user: Account) -> None:
        client.delete(f"{API}/users/{user.id}", headers=admin.headers)
        register(client, user.email)

    def test_last_active_admin_cannot_be_deleted(self, client: TestClient, admin: Account) -> None:
        assert_problem(client.delete(f"{API}/users/{admin.id}", headers=admin.headers), 409)
        assert client.get(f"{API}/users/me", headers=admin.headers).status_code == 200

    def test_admin_can_be_deleted_when_another_active_admin_exists(
        self, client: TestClient, admin: Account
    ) -> None:
        second = make_admin(client)
        assert client.delete(f"{API}/users/{admin.id}", headers=second.headers).status_code == 204
        assert_problem(client.get(f"{API}/users/{admin.id}", headers=second.headers), 404)

    def test_non_admin_is_403(self, client: TestClient, user: Account, other_user: Account) -> None:
        assert_problem(client.delete(f"{API}/users/{other_user.id}", headers=user.headers), 403)
        assert log_in(client, other_user.email)

    def test_unknown_user_is_404(self, client: TestClient, admin: Account) -> None:
        assert_problem(client.delete(f"{API}/users/{uuid.uuid4()}", headers=admin.headers), 404)

    def test_without_token_is_401(self, client: TestClient, user: Account) -> None:
        assert_problem(client.delete(f"{API}/users/{user.id}"), 401)


def test_concurrent_first_admin_creation_creates_one(client: TestClient) -> None:
    """Several processes starting at once with FIRST_ADMIN_*: one creates, the rest find it."""
    state = app_of(client).state
    email = unique_email("first-admin")

    async def ensure() -> bool:
        created = await users_service.ensure_admin(
            state.database, state.hasher, email=email, password=PASSWORD
        )
        return created is not None

    async def race() -> list[bool]:
        return list(await asyncio.gather(ensure(), ensure(), ensure()))

    assert sorted(run_on_app(client, race)) == [False, False, True]
