"""POST /tasks with an Idempotency-Key creates at most once."""

import uuid
from datetime import timedelta
from typing import NamedTuple

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.core.statements import NoRows
from app.domain.models import IdempotencyKey, IdempotencyKeyRecord, Task
from app.services import idempotency
from generated.models import TaskCreate
from tests.conftest import API, Account, app_of, assert_problem, execute, run_on_app
from tests.pages import every_item

KEYS = IdempotencyKey.metadata.tables["idempotency_key"]
TASKS = Task.metadata.tables["task"]


class Key(NamedTuple):
    key: str


class Count(NamedTuple):
    total: int


def create(client: TestClient, account: Account, key: str, **body: object) -> dict[str, object]:
    response = client.post(
        f"{API}/tasks",
        json={"title": "pay rent", **body},
        headers={**account.headers, "Idempotency-Key": key},
    )
    return {"status": response.status_code, "headers": response.headers, "body": response.json()}


def count_tasks(client: TestClient, account: Account) -> int:
    return len(every_item(client.get, f"{API}/tasks", account.headers))


def test_a_retry_replays_the_first_response_and_creates_nothing(
    client: TestClient, user: Account
) -> None:
    first = client.post(
        f"{API}/tasks",
        json={"title": "pay rent"},
        headers={**user.headers, "Idempotency-Key": "k1"},
    )
    again = client.post(
        f"{API}/tasks",
        json={"title": "pay rent"},
        headers={**user.headers, "Idempotency-Key": "k1"},
    )
    assert first.status_code == again.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert count_tasks(client, user) == 1


def test_the_same_key_with_another_body_is_422(client: TestClient, user: Account) -> None:
    assert create(client, user, "k2")["status"] == 201
    response = client.post(
        f"{API}/tasks", json={"title": "other"}, headers={**user.headers, "Idempotency-Key": "k2"}
    )
    assert_problem(response, 422)
    assert count_tasks(client, user) == 1


def test_keys_belong_to_one_user(client: TestClient, user: Account, other_user: Account) -> None:
    mine, theirs = create(client, user, "shared"), create(client, other_user, "shared")
    assert mine["status"] == theirs["status"] == 201
    assert mine["body"]["id"] != theirs["body"]["id"]  # type: ignore[index]


def test_without_a_key_every_post_creates(client: TestClient, user: Account) -> None:
    for _ in range(2):
        client.post(f"{API}/tasks", json={"title": "t"}, headers=user.headers)
    assert count_tasks(client, user) == 2


def claim(client: TestClient, account: Account, key: str) -> None:
    """What a concurrent request does first: claim the key (and commit), work not yet done."""
    database = app_of(client).state.database

    async def run() -> None:
        await idempotency.claim(
            database,
            user_id=uuid.UUID(account.id),
            key=key,
            fingerprint=idempotency.fingerprint(TaskCreate(title="x").model_dump_json()),
        )

    run_on_app(client, run)


def age_claim(client: TestClient, account: Account, key: str, by: timedelta) -> None:
    the_key = (KEYS.c.user_id == uuid.UUID(account.id), KEYS.c.key == key)
    [claimed] = execute(client, select(KEYS).where(*the_key), IdempotencyKeyRecord)
    execute(
        client,
        update(KEYS)
        .where(*the_key)
        .values(locked_at=claimed.locked_at - by, expires_at=claimed.expires_at - by),
        NoRows,
    )


def test_a_retry_while_the_first_is_in_flight_is_409(client: TestClient, user: Account) -> None:
    claim(client, user, "busy")
    response = client.post(
        f"{API}/tasks", json={"title": "x"}, headers={**user.headers, "Idempotency-Key": "busy"}
    )
    assert_problem(response, 409)
    assert count_tasks(client, user) == 0


def test_a_claim_left_by_a_dead_request_is_taken_over(client: TestClient, user: Account) -> None:
    claim(client, user, "orphan")
    age_claim(client, user, "orphan", idempotency.ABANDONED_AFTER + timedelta(seconds=1))
    assert create(client, user, "orphan", title="x")["status"] == 201
    assert count_tasks(client, user) == 1


def test_keys_expire_after_24_hours(client: TestClient, user: Account) -> None:
    first = create(client, user, "old")
    age_claim(client, user, "old", idempotency.KEY_LIFETIME + timedelta(seconds=1))
    second = create(client, user, "old")
    assert second["status"] == 201
    assert "idempotent-replayed" not in second["headers"]  # type: ignore[operator]
    assert second["body"]["id"] != first["body"]["id"]  # type: ignore[index]


def test_a_failed_request_gives_its_key_back(client: TestClient, user: Account) -> None:
    # Valid for the contract, refused by the service: the work fails after the claim.
    body = {"title": "x", "due_date": "0001-01-01T00:00:00+01:00"}
    headers = {**user.headers, "Idempotency-Key": "retry-me"}
    assert_problem(client.post(f"{API}/tasks", json=body, headers=headers), 422)
    assert_problem(client.post(f"{API}/tasks", json=body, headers=headers), 422)

    assert execute(client, select(KEYS.c.key), Key) == []


def test_an_invalid_key_is_422(client: TestClient, user: Account) -> None:
    for key in (b"", b"x" * 256, b"with space", "ünïcode".encode()):
        headers: dict[str, str | bytes] = {**user.headers, "Idempotency-Key": key}
        response = client.post(f"{API}/tasks", json={"title": "t"}, headers=headers)
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["header", "Idempotency-Key"]

    assert execute(client, select(func.count().label("total")).select_from(TASKS), Count) == [(0,)]


def test_expired_keys_of_idle_users_are_purged_too(
    client: TestClient, user: Account, other_user: Account
) -> None:
    create(client, user, "idle-key")
    age_claim(client, user, "idle-key", idempotency.KEY_LIFETIME + timedelta(seconds=1))
    create(client, other_user, "busy-key")

    assert execute(client, select(KEYS.c.key), Key) == [("busy-key",)]
