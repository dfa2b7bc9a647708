"""The generated Python client (generated/client, `make sdk`) against the real server.

One uvicorn process (tests.servers.live_server) on a SQLite file of its own; every request goes
through `task_api_client`, and every answer is read as the client's typed models (User, TokenPair,
Task, TaskList, Problem). Nothing here builds a URL or parses JSON by hand.
"""

import uuid
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

import pytest
from task_api_client import AuthenticatedClient, Client
from task_api_client.api.auth import login, logout, refresh_tokens, register
from task_api_client.api.tasks import (
    create_task,
    delete_task,
    get_task,
    list_tasks,
    replace_task,
    update_task,
)
from task_api_client.api.users import get_current_user
from task_api_client.models import (
    LoginRequest,
    Problem,
    RefreshRequest,
    Task,
    TaskCreate,
    TaskList,
    TaskPriority,
    TaskReplace,
    TaskStatus,
    TaskUpdate,
    TokenPair,
    TokenPairTokenType,
    User,
    UserRegister,
)
from task_api_client.types import Response

from tests.servers import live_server

T = TypeVar("T")
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database: Path = tmp_path_factory.mktemp("sdk") / "sdk.db"
    with live_server(f"sqlite:///{database}") as server:
        yield f"{server.url}/api/v1"


@pytest.fixture
def anonymous(base_url: str) -> Iterator[Client]:
    with Client(base_url=base_url, raise_on_unexpected_status=True) as client:
        yield client


def parsed(response: Response[Any], kind: type[T], status: HTTPStatus) -> T:
    """The typed body of a response that must have `status`."""
    assert response.status_code == status, response.content
    assert isinstance(response.parsed, kind), response.parsed
    return response.parsed


def problem(response: Response[Any], status: HTTPStatus) -> Problem:
    """The typed RFC 9457 problem of an error response."""
    assert response.headers["content-type"] == "application/problem+json"
    body = parsed(response, Problem, status)
    assert body.status == status
    assert body.type_ == "about:blank"
    assert body.request_id == response.headers["x-request-id"]
    return body


def sign_up(anonymous: Client) -> tuple[User, TokenPair]:
    email = f"sdk-{uuid.uuid4().hex[:12]}@example.com"
    created = register.sync_detailed(
        client=anonymous, body=UserRegister(email=email, password=PASSWORD, full_name="Ada")
    )
    user = parsed(created, User, HTTPStatus.CREATED)
    tokens = login.sync_detailed(client=anonymous, body=LoginRequest(email, PASSWORD))
    return user, parsed(tokens, TokenPair, HTTPStatus.OK)


@pytest.fixture
def me(anonymous: Client, base_url: str) -> Iterator[AuthenticatedClient]:
    _, tokens = sign_up(anonymous)
    with AuthenticatedClient(
        base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True
    ) as client:
        yield client


def test_register_log_in_and_read_the_profile(anonymous: Client, base_url: str) -> None:
    user, tokens = sign_up(anonymous)
    assert user.full_name == "Ada"
    assert tokens.token_type is TokenPairTokenType.BEARER
    assert tokens.expires_in > 0
    with AuthenticatedClient(base_url=base_url, token=tokens.access_token) as client:
        profile = parsed(get_current_user.sync_detailed(client=client), User, HTTPStatus.OK)
    assert (profile.id, profile.email) == (user.id, user.email)


def test_a_task_from_creation_to_deletion_with_etags(me: AuthenticatedClient) -> None:
    body = TaskCreate(title="Write the report", priority=TaskPriority.HIGH)
    created = create_task.sync_detailed(client=me, body=body)
    task = parsed(created, Task, HTTPStatus.CREATED)
    etag = created.headers["etag"]
    assert created.headers["location"].endswith(f"/tasks/{task.id}")
    assert (task.title, task.priority, task.status) == (
        "Write the report",
        TaskPriority.HIGH,
        TaskStatus.TODO,
    )

    page = parsed(list_tasks.sync_detailed(client=me), TaskList, HTTPStatus.OK)
    assert [t.id for t in page.tasks] == [task.id]
    assert page.next_cursor is None

    read = get_task.sync_detailed(task.id, client=me)
    assert parsed(read, Task, HTTPStatus.OK) == task
    assert read.headers["etag"] == etag
    unchanged = get_task.sync_detailed(task.id, client=me, if_none_match=etag)
    assert unchanged.status_code == HTTPStatus.NOT_MODIFIED
    assert unchanged.parsed is None

    whole = TaskReplace(
        title="Write the whole report", priority=TaskPriority.LOW, status=TaskStatus.IN_PROGRESS
    )
    replaced = replace_task.sync_detailed(task.id, client=me, body=whole, if_match=etag)
    assert parsed(replaced, Task, HTTPStatus.OK).status is TaskStatus.IN_PROGRESS
    assert replaced.headers["etag"] != etag

    stale = update_task.sync_detailed(
        task.id, client=me, body=TaskUpdate(status=TaskStatus.COMPLETED), if_match=etag
    )
    assert problem(stale, HTTPStatus.PRECONDITION_FAILED).detail
    assert stale.headers["etag"] == replaced.headers["etag"]

    updated = update_task.sync_detailed(
        task.id,
        client=me,
        body=TaskUpdate(status=TaskStatus.COMPLETED),
        if_match=replaced.headers["etag"],
    )
    done = parsed(updated, Task, HTTPStatus.OK)
    assert (done.title, done.status) == ("Write the whole report", TaskStatus.COMPLETED)

    filtered = list_tasks.sync_detailed(client=me, status=TaskStatus.TODO)
    assert parsed(filtered, TaskList, HTTPStatus.OK).tasks == []

    refused = delete_task.sync_detailed(task.id, client=me, if_match=etag)
    problem(refused, HTTPStatus.PRECONDITION_FAILED)
    deleted = delete_task.sync_detailed(task.id, client=me, if_match=updated.headers["etag"])
    assert deleted.status_code == HTTPStatus.NO_CONTENT
    assert deleted.content == b""

    gone = problem(get_task.sync_detailed(task.id, client=me), HTTPStatus.NOT_FOUND)
    assert gone.instance == f"/api/v1/tasks/{task.id}"


def test_another_users_task_is_a_typed_404(
    me: AuthenticatedClient, anonymous: Client, base_url: str
) -> None:
    task = parsed(
        create_task.sync_detailed(client=me, body=TaskCreate(title="Mine")),
        Task,
        HTTPStatus.CREATED,
    )
    _, tokens = sign_up(anonymous)
    with AuthenticatedClient(base_url=base_url, token=tokens.access_token) as stranger:
        for response in (
            get_task.sync_detailed(task.id, client=stranger),
            get_task.sync_detailed(uuid.uuid4(), client=stranger),
        ):
            assert problem(response, HTTPStatus.NOT_FOUND).title == "Not Found"


def test_an_invalid_body_is_a_typed_422_with_field_errors(me: AuthenticatedClient) -> None:
    response = create_task.sync_detailed(client=me, body=TaskCreate(title=""))
    body = problem(response, HTTPStatus.UNPROCESSABLE_ENTITY)
    assert isinstance(body.errors, list)
    assert [(error.loc, error.type_) for error in body.errors] == [
        (["body", "title"], "string_too_short")
    ]


def test_refresh_gives_a_working_pair_and_logout_revokes_it(
    anonymous: Client, base_url: str
) -> None:
    _, first = sign_up(anonymous)
    refreshed = refresh_tokens.sync_detailed(
        client=anonymous, body=RefreshRequest(first.refresh_token)
    )
    second = parsed(refreshed, TokenPair, HTTPStatus.OK)
    assert refreshed.headers["cache-control"] == "no-store"

    wrong_kind = refresh_tokens.sync_detailed(
        client=anonymous, body=RefreshRequest(first.access_token)
    )
    problem(wrong_kind, HTTPStatus.UNAUTHORIZED)

    with AuthenticatedClient(base_url=base_url, token=second.access_token) as client:
        parsed(get_current_user.sync_detailed(client=client), User, HTTPStatus.OK)
        assert logout.sync_detailed(client=client).status_code == HTTPStatus.NO_CONTENT
        problem(get_current_user.sync_detailed(client=client), HTTPStatus.UNAUTHORIZED)
    revoked = refresh_tokens.sync_detailed(
        client=anonymous, body=RefreshRequest(second.refresh_token)
    )
    problem(revoked, HTTPStatus.UNAUTHORIZED)
