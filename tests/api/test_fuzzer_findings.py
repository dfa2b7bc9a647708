"""Plain regression tests for what Schemathesis found (tests/contract/), one per finding."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import API, Account, assert_problem

NOT_RFC3339 = ["0", "0.5", "1700000000", "2026-01-01 00:00:00Z", "2026-01-01T00:00Z"]


class TestDateTimesAreRfc3339Only:
    """pydantic read "0" as 1970-01-01; the contract's format: date-time does not."""

    @pytest.mark.parametrize("value", NOT_RFC3339)
    @pytest.mark.parametrize("parameter", ["due_before", "due_after"])
    def test_query_parameters(
        self, client: TestClient, user: Account, parameter: str, value: str
    ) -> None:
        response = client.get(f"{API}/tasks", params={parameter: value}, headers=user.headers)
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["query", parameter]

    @pytest.mark.parametrize("value", NOT_RFC3339)
    def test_request_bodies(self, client: TestClient, user: Account, value: str) -> None:
        created = client.post(f"{API}/tasks", json={"title": "t"}, headers=user.headers).json()
        url = f"{API}/tasks/{created['id']}"
        replace = {"title": "t", "priority": "low", "status": "todo", "due_date": value}
        for response in (
            client.post(
                f"{API}/tasks", json={"title": "t", "due_date": value}, headers=user.headers
            ),
            client.put(url, json=replace, headers=user.headers),
            client.patch(url, json={"due_date": value}, headers=user.headers),
        ):
            assert assert_problem(response, 422)["errors"][0]["loc"] == ["body", "due_date"]

    def test_rfc3339_with_any_offset_and_fraction_is_accepted(
        self, client: TestClient, user: Account
    ) -> None:
        body = {"title": "t", "due_date": "2026-12-01t17:00:00.250+02:00"}
        response = client.post(f"{API}/tasks", json=body, headers=user.headers)
        assert response.status_code == 201
        assert response.json()["due_date"] == "2026-12-01T15:00:00.250000Z"


class TestUsersMeIsNotAnId:
    def test_delete_users_me_is_405_for_an_admin(self, client: TestClient, admin: Account) -> None:
        response = client.delete(f"{API}/users/me", headers=admin.headers)
        assert_problem(response, 405)
        assert response.headers["allow"] == "GET, PATCH"

    def test_a_malformed_id_is_still_422(self, client: TestClient, admin: Account) -> None:
        body = assert_problem(client.get(f"{API}/users/abc", headers=admin.headers), 422)
        assert body["errors"][0]["loc"] == ["path", "user_id"]
