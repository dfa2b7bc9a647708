"""Registration, login, the OAuth2 form, refresh, logout and every way a token can be refused."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import jwt
import pytest
from fastapi.testclient import TestClient
from passlib.hash import bcrypt
from sqlalchemy import select, update

from app.core.statements import NoRows
from app.domain.models import User
from app.main import create_app
from generated import models as api
from tests.conftest import (
    API,
    PASSWORD,
    SECRET_KEY,
    Account,
    app_of,
    assert_problem,
    execute,
    log_in,
    make_settings,
    run_on_app,
    stored_task,
    unique_email,
)
from tests.pages import every_item

USER = User.metadata.tables["user"]


class Hash(NamedTuple):
    hashed_password: str


# Every property the contract declares (each is required).
USER_KEYS = set(api.User.model_fields)
TOKEN_KEYS = set(api.TokenPair.model_fields)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def me(client: TestClient, token: str) -> Any:
    return client.get(f"{API}/users/me", headers=bearer(token))


def assert_invalid(response: Any, *loc: str) -> list[dict[str, Any]]:
    """A 422 problem whose errors all point into the body (and one of them at `loc`, if given)."""
    errors: list[dict[str, Any]] = assert_problem(response, 422)["errors"]
    assert errors
    for error in errors:
        assert set(error) == {"loc", "msg", "type"}
        assert error["loc"][0] == "body"
        assert error["msg"] and error["type"]
    if loc:
        assert ["body", *loc] in [e["loc"] for e in errors]
    return errors


def assert_token_pair(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800
    return body


def claims(user_id: str, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "sub": user_id,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
        "type": "access",
        "ver": 0,
    }
    return {k: v for k, v in (values | overrides).items() if v is not None}


def forge(payload: dict[str, Any], key: str = SECRET_KEY) -> str:
    return jwt.encode(payload, key, algorithm="HS256")


def stored_hash(client: TestClient, user_id: str) -> str:
    [(hashed,)] = execute(
        client, select(USER.c.hashed_password).where(USER.c.id == uuid.UUID(user_id)), Hash
    )
    return hashed


def overwrite_hash(client: TestClient, user_id: str, hashed: str) -> None:
    change = update(USER).where(USER.c.id == uuid.UUID(user_id)).values(hashed_password=hashed)
    execute(client, change, NoRows)


class TestRegister:
    def test_creates_a_user_with_the_user_role(self, client: TestClient) -> None:
        email = unique_email()
        response = client.post(
            f"{API}/auth/register",
            json={"email": email, "password": PASSWORD, "full_name": "Ada Lovelace"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == USER_KEYS
        assert body["email"] == email
        assert body["full_name"] == "Ada Lovelace"
        assert body["role"] == "user"
        assert body["is_active"] is True
        assert response.headers["location"] == f"{API}/users/{body['id']}"

    def test_full_name_is_optional_and_null(self, client: TestClient) -> None:
        response = client.post(
            f"{API}/auth/register", json={"email": unique_email(), "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        assert response.json()["full_name"] is None

    def test_email_taken_is_409(self, client: TestClient, user: Account) -> None:
        response = client.post(
            f"{API}/auth/register", json={"email": user.email, "password": PASSWORD}
        )
        assert_problem(response, 409)

    def test_email_taken_in_other_case_is_409(self, client: TestClient, user: Account) -> None:
        response = client.post(
            f"{API}/auth/register", json={"email": user.email.upper(), "password": PASSWORD}
        )
        assert_problem(response, 409)

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"password": "short"}, "password"),
            ({"password": "x" * 129}, "password"),
            ({"email": "not-an-email"}, "email"),
            ({"password": 12345678}, "password"),
            ({"full_name": ""}, "full_name"),
        ],
    )
    def test_invalid_field_is_422(
        self, client: TestClient, changes: dict[str, Any], field: str
    ) -> None:
        data = {"email": unique_email(), "password": PASSWORD} | changes
        assert_invalid(client.post(f"{API}/auth/register", json=data), field)

    def test_password_of_8_and_128_characters_is_accepted(self, client: TestClient) -> None:
        for password in ("x" * 8, "x" * 128):
            data = {"email": unique_email(), "password": password}
            assert client.post(f"{API}/auth/register", json=data).status_code == 201

    def test_missing_field_is_422(self, client: TestClient) -> None:
        response = client.post(f"{API}/auth/register", json={"email": unique_email()})
        errors = assert_invalid(response, "password")
        assert errors[0]["type"] == "missing"

    def test_role_cannot_be_assigned(self, client: TestClient) -> None:
        email = unique_email()
        data = {"email": email, "password": PASSWORD, "role": "admin"}
        assert_invalid(client.post(f"{API}/auth/register", json=data), "role")
        response = client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
        assert_problem(response, 401)

    def test_malformed_json_is_422(self, client: TestClient) -> None:
        response = client.post(
            f"{API}/auth/register",
            content=b'{"email": ',
            headers={"Content-Type": "application/json"},
        )
        errors = assert_invalid(response)
        assert errors[0]["type"] == "json_invalid"

    def test_form_body_is_422(self, client: TestClient) -> None:
        response = client.post(
            f"{API}/auth/register", data={"email": unique_email(), "password": PASSWORD}
        )
        assert_invalid(response)


class TestLogin:
    def test_returns_a_token_pair(self, client: TestClient, user: Account) -> None:
        response = client.post(
            f"{API}/auth/login", json={"email": user.email, "password": PASSWORD}
        )
        tokens = assert_token_pair(response)
        assert me(client, tokens["access_token"]).json()["id"] == user.id

    def test_email_is_matched_without_regard_to_case(
        self, client: TestClient, user: Account
    ) -> None:
        response = client.post(
            f"{API}/auth/login", json={"email": user.email.upper(), "password": PASSWORD}
        )
        assert_token_pair(response)

    def test_wrong_password_and_unknown_email_give_the_same_401(
        self, client: TestClient, user: Account
    ) -> None:
        wrong = client.post(
            f"{API}/auth/login", json={"email": user.email, "password": "wrong-password"}
        )
        unknown = client.post(
            f"{API}/auth/login", json={"email": unique_email(), "password": PASSWORD}
        )
        assert assert_problem(wrong, 401)["detail"] == assert_problem(unknown, 401)["detail"]

    def test_deactivated_user_cannot_log_in(
        self, client: TestClient, user: Account, admin: Account
    ) -> None:
        response = client.patch(
            f"{API}/users/{user.id}", json={"is_active": False}, headers=admin.headers
        )
        assert response.status_code == 200, response.text
        response = client.post(
            f"{API}/auth/login", json={"email": user.email, "password": PASSWORD}
        )
        assert_problem(response, 401)

    @pytest.mark.parametrize(
        "data",
        [
            {"email": "someone@example.com"},
            {"email": "not-an-email", "password": PASSWORD},
            {"email": "someone@example.com", "password": ""},
            {"email": "someone@example.com", "password": 12345678},
            {"email": "someone@example.com", "password": PASSWORD, "extra": 1},
        ],
    )
    def test_invalid_body_is_422(self, client: TestClient, data: dict[str, Any]) -> None:
        assert_invalid(client.post(f"{API}/auth/login", json=data))


class TestIssueToken:
    def test_form_credentials_give_a_token_pair(self, client: TestClient, user: Account) -> None:
        response = client.post(
            f"{API}/auth/token", data={"username": user.email, "password": PASSWORD}
        )
        tokens = assert_token_pair(response)
        assert me(client, tokens["access_token"]).status_code == 200

    def test_grant_type_password_is_accepted(self, client: TestClient, user: Account) -> None:
        response = client.post(
            f"{API}/auth/token",
            data={"grant_type": "password", "username": user.email, "password": PASSWORD},
        )
        assert_token_pair(response)

    def test_wrong_password_is_401(self, client: TestClient, user: Account) -> None:
        response = client.post(
            f"{API}/auth/token", data={"username": user.email, "password": "wrong-password"}
        )
        assert_problem(response, 401)

    def test_json_body_is_422(self, client: TestClient, user: Account) -> None:
        response = client.post(
            f"{API}/auth/token", json={"username": user.email, "password": PASSWORD}
        )
        assert_invalid(response)

    def test_missing_username_is_422(self, client: TestClient) -> None:
        assert_invalid(client.post(f"{API}/auth/token", data={"password": PASSWORD}), "username")

    def test_other_grant_type_is_422(self, client: TestClient, user: Account) -> None:
        response = client.post(
            f"{API}/auth/token",
            data={"grant_type": "client_credentials", "username": user.email, "password": PASSWORD},
        )
        assert_invalid(response, "grant_type")


class TestRefreshTokens:
    def test_refresh_token_gives_a_working_pair(self, client: TestClient, user: Account) -> None:
        response = client.post(f"{API}/auth/refresh", json={"refresh_token": user.refresh_token})
        tokens = assert_token_pair(response)
        assert me(client, tokens["access_token"]).json()["id"] == user.id
        again = client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert_token_pair(again)

    def test_access_token_is_refused(self, client: TestClient, user: Account) -> None:
        response = client.post(f"{API}/auth/refresh", json={"refresh_token": user.access_token})
        assert_problem(response, 401)

    def test_garbage_is_refused(self, client: TestClient) -> None:
        response = client.post(f"{API}/auth/refresh", json={"refresh_token": "not-a-jwt"})
        assert_problem(response, 401)

    def test_missing_token_is_422(self, client: TestClient) -> None:
        assert_invalid(client.post(f"{API}/auth/refresh", json={}), "refresh_token")


class TestTokenChecks:
    def test_no_authorization_header_is_401(self, client: TestClient) -> None:
        assert_problem(client.get(f"{API}/users/me"), 401)

    def test_other_scheme_is_401(self, client: TestClient, user: Account) -> None:
        response = client.get(f"{API}/users/me", headers={"Authorization": "Basic xyz"})
        assert_problem(response, 401)
        response = client.get(
            f"{API}/users/me", headers={"Authorization": f"Basic {user.access_token}"}
        )
        assert_problem(response, 401)

    def test_refresh_token_is_refused_as_bearer(self, client: TestClient, user: Account) -> None:
        assert_problem(me(client, user.refresh_token), 401)

    def test_own_well_formed_token_is_accepted(self, client: TestClient, user: Account) -> None:
        """The forged tokens below differ from this one in one respect each."""
        assert me(client, forge(claims(user.id))).status_code == 200

    def test_expired_token_is_401(self, client: TestClient, user: Account) -> None:
        past = datetime.now(UTC) - timedelta(hours=1)
        token = forge(claims(user.id, iat=past, exp=past + timedelta(minutes=1)))
        assert_problem(me(client, token), 401)

    def test_tampered_signature_is_401(self, client: TestClient, user: Account) -> None:
        header, payload, signature = user.access_token.split(".")
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        assert_problem(me(client, f"{header}.{payload}.{flipped}"), 401)

    def test_tampered_payload_is_401(self, client: TestClient, user: Account) -> None:
        header, _, signature = user.access_token.split(".")
        _, payload, _ = forge(claims(user.id, ver=1)).split(".")
        assert_problem(me(client, f"{header}.{payload}.{signature}"), 401)

    def test_unsigned_token_is_401(self, client: TestClient, user: Account) -> None:
        token = jwt.encode(claims(user.id), None, algorithm="none")
        assert_problem(me(client, token), 401)

    def test_token_signed_with_another_key_is_401(self, client: TestClient, user: Account) -> None:
        token = forge(claims(user.id), key="another-secret-key-that-is-long-enough-too")
        assert_problem(me(client, token), 401)

    @pytest.mark.parametrize("claim", ["ver", "type", "sub", "exp", "iat", "jti"])
    def test_token_missing_a_claim_is_401(
        self, client: TestClient, user: Account, claim: str
    ) -> None:
        payload = claims(user.id)
        del payload[claim]
        assert_problem(me(client, forge(payload)), 401)

    @pytest.mark.parametrize(
        "overrides",
        [{"type": "refresh"}, {"type": "other"}, {"ver": "0"}, {"ver": 1}, {"sub": "abc"}],
    )
    def test_token_with_a_wrong_claim_is_401(
        self, client: TestClient, user: Account, overrides: dict[str, Any]
    ) -> None:
        assert_problem(me(client, forge(claims(user.id, **overrides))), 401)

    def test_token_for_an_unknown_user_is_401(self, client: TestClient) -> None:
        assert_problem(me(client, forge(claims(str(uuid.uuid4())))), 401)


class TestLogout:
    def test_revokes_every_token(self, client: TestClient, user: Account) -> None:
        response = client.post(f"{API}/auth/logout", headers=user.headers)
        assert response.status_code == 204
        assert response.content == b""
        assert_problem(me(client, user.access_token), 401)
        response = client.post(f"{API}/auth/refresh", json={"refresh_token": user.refresh_token})
        assert_problem(response, 401)

    def test_logging_in_again_works(self, client: TestClient, user: Account) -> None:
        assert client.post(f"{API}/auth/logout", headers=user.headers).status_code == 204
        again = log_in(client, user.email)
        assert me(client, again.access_token).status_code == 200

    def test_without_token_is_401(self, client: TestClient) -> None:
        assert_problem(client.post(f"{API}/auth/logout"), 401)


class TestRevocation:
    def test_password_change_revokes_old_tokens(self, client: TestClient, user: Account) -> None:
        response = client.put(
            f"{API}/users/me/password",
            json={"current_password": PASSWORD, "new_password": "staple-battery-horse"},
            headers=user.headers,
        )
        assert response.status_code == 204, response.text
        assert_problem(me(client, user.access_token), 401)
        response = client.post(f"{API}/auth/refresh", json={"refresh_token": user.refresh_token})
        assert_problem(response, 401)

    def test_deactivation_revokes_tokens(
        self, client: TestClient, user: Account, admin: Account
    ) -> None:
        response = client.patch(
            f"{API}/users/{user.id}", json={"is_active": False}, headers=admin.headers
        )
        assert response.status_code == 200, response.text
        assert_problem(me(client, user.access_token), 401)
        response = client.post(f"{API}/auth/refresh", json={"refresh_token": user.refresh_token})
        assert_problem(response, 401)

    def test_reactivation_does_not_revive_old_tokens(
        self, client: TestClient, user: Account, admin: Account
    ) -> None:
        for active in (False, True):
            response = client.patch(
                f"{API}/users/{user.id}", json={"is_active": active}, headers=admin.headers
            )
            assert response.status_code == 200, response.text
        assert_problem(me(client, user.access_token), 401)
        assert me(client, log_in(client, user.email).access_token).status_code == 200

    def test_deletion_revokes_tokens(
        self, client: TestClient, user: Account, admin: Account
    ) -> None:
        assert client.delete(f"{API}/users/{user.id}", headers=admin.headers).status_code == 204
        assert_problem(me(client, user.access_token), 401)
        response = client.post(f"{API}/auth/refresh", json={"refresh_token": user.refresh_token})
        assert_problem(response, 401)


class TestRevocationOnTasks:
    """GET /tasks, GET /tasks/{id} and POST /tasks check the token in the statement that reads or
    inserts, not in a separate caller check: they must refuse exactly the same tokens, reveal
    nothing and create nothing."""

    @staticmethod
    def revoke(how: str, client: TestClient, user: Account, admin: Account) -> None:
        if how == "logout":
            response = client.post(f"{API}/auth/logout", headers=user.headers)
        elif how == "deactivation":
            response = client.patch(
                f"{API}/users/{user.id}", json={"is_active": False}, headers=admin.headers
            )
        else:
            response = client.delete(f"{API}/users/{user.id}", headers=admin.headers)
        assert response.status_code in (200, 204), response.text

    @pytest.mark.parametrize("how", ["logout", "deactivation", "deletion"])
    def test_a_revoked_token_reads_no_task(
        self, client: TestClient, user: Account, admin: Account, how: str
    ) -> None:
        created = client.post(f"{API}/tasks", json={"title": "secret"}, headers=user.headers)
        assert created.status_code == 201, created.text
        paths = [
            f"{API}/tasks",
            f"{API}/tasks/{created.json()['id']}",
            f"{API}/tasks/{uuid.uuid4()}",
        ]
        for path in paths:
            assert client.get(path, headers=user.headers).status_code in (200, 404)
        self.revoke(how, client, user, admin)
        for path in paths:
            body = assert_problem(client.get(path, headers=user.headers), 401)
            assert "secret" not in str(body)

    def test_a_token_of_another_version_reads_no_task(
        self, client: TestClient, user: Account
    ) -> None:
        created = client.post(f"{API}/tasks", json={"title": "t"}, headers=user.headers)
        assert created.status_code == 201, created.text
        stale = forge(claims(user.id, ver=1))  # signed by us, but not the user's token version
        for path in (f"{API}/tasks", f"{API}/tasks/{created.json()['id']}"):
            assert_problem(client.get(path, headers=bearer(stale)), 401)

    @pytest.mark.parametrize("how", ["logout", "deactivation", "deletion"])
    def test_a_revoked_token_creates_no_task(
        self, client: TestClient, user: Account, admin: Account, how: str
    ) -> None:
        self.revoke(how, client, user, admin)
        created = client.post(f"{API}/tasks", json={"title": "t"}, headers=user.headers)
        assert_problem(created, 401)
        if how == "logout":
            again = log_in(client, user.email, user_id=user.id)
            assert every_item(client.get, f"{API}/tasks", again.headers) == []

    def test_a_revoked_token_gets_no_idempotent_replay(
        self, client: TestClient, user: Account
    ) -> None:
        headers = {**user.headers, "Idempotency-Key": "revoked-replay"}
        first = client.post(f"{API}/tasks", json={"title": "secret"}, headers=headers)
        assert first.status_code == 201, first.text
        assert client.post(f"{API}/auth/logout", headers=user.headers).status_code == 204
        replay = client.post(f"{API}/tasks", json={"title": "secret"}, headers=headers)
        assert "secret" not in str(assert_problem(replay, 401))

    @pytest.mark.parametrize("how", ["logout", "deactivation"])
    @pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
    def test_a_revoked_token_changes_no_task(
        self, client: TestClient, user: Account, admin: Account, how: str, method: str
    ) -> None:
        created = client.post(f"{API}/tasks", json={"title": "kept"}, headers=user.headers)
        assert created.status_code == 201, created.text
        task_id, etag = created.json()["id"], created.headers["etag"]
        self.revoke(how, client, user, admin)
        body = {
            "PUT": {"title": "changed", "priority": "low", "status": "completed"},
            "PATCH": {"title": "changed"},
            "DELETE": None,
        }[method]
        for headers in (user.headers, {**user.headers, "If-Match": etag}):
            response = client.request(method, f"{API}/tasks/{task_id}", json=body, headers=headers)
            assert_problem(response, 401)
        database = app_of(client).state.database
        stored = run_on_app(client, lambda: stored_task(database, uuid.UUID(task_id)))
        assert stored is not None
        assert (stored.title, stored.version) == ("kept", 1)


class TestHashUpgrade:
    def test_bcrypt_hash_is_rehashed_with_argon2id_on_login(
        self, client: TestClient, user: Account
    ) -> None:
        overwrite_hash(client, user.id, bcrypt.hash(PASSWORD))
        assert stored_hash(client, user.id).startswith("$2")
        log_in(client, user.email)
        assert stored_hash(client, user.id).startswith("$argon2id$")
        log_in(client, user.email)

    def test_bcrypt_hash_still_refuses_a_wrong_password(
        self, client: TestClient, user: Account
    ) -> None:
        overwrite_hash(client, user.id, bcrypt.hash(PASSWORD))
        response = client.post(
            f"{API}/auth/login", json={"email": user.email, "password": "wrong-password"}
        )
        assert_problem(response, 401)
        assert stored_hash(client, user.id).startswith("$2")


class TestFirstAdmin:
    def test_is_created_once_and_never_overwritten(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'first-admin.db'}"
        email = unique_email("first-admin")
        settings = make_settings(url, FIRST_ADMIN_EMAIL=email, FIRST_ADMIN_PASSWORD=PASSWORD)
        with TestClient(create_app(settings), raise_server_exceptions=False) as first:
            admin = log_in(first, email)
            assert me(first, admin.access_token).json()["role"] == "admin"

        other = "another-admin-password"
        settings = make_settings(url, FIRST_ADMIN_EMAIL=email, FIRST_ADMIN_PASSWORD=other)
        with TestClient(create_app(settings), raise_server_exceptions=False) as second:
            log_in(second, email)
            response = second.post(f"{API}/auth/login", json={"email": email, "password": other})
            assert_problem(response, 401)
