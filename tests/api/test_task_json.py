"""A task's JSON is remembered per row (app.api.routes.tasks.task_json): what is served must be
what the contract's model makes of that exact row, whatever was served before."""

import json
import uuid
from collections import namedtuple
from typing import Any

from fastapi.testclient import TestClient

from app.api.routes.tasks import TASK_JSON_CACHE_ROWS, _task_json, task_json
from generated import models as api
from tests.conftest import API, Account

COLUMNS = (
    "id", "user_id", "title", "description", "priority", "status", "due_date", "version",
    "created_at", "updated_at",
)  # fmt: skip
Row = namedtuple("Row", COLUMNS)  # type: ignore[misc]


def row(**changes: Any) -> Any:
    """A task row as SQLite hands it to the models (ids as hex, times with their offset)."""
    values = {
        "id": uuid.uuid4().hex,
        "user_id": uuid.uuid4().hex,
        "title": "Write the report",
        "description": None,
        "priority": "high",
        "status": "todo",
        "due_date": None,
        "version": 1,
        "created_at": "2026-11-27 08:57:38.456268+00:00",
        "updated_at": "2026-11-27 08:57:38.456268+00:00",
    }
    return Row(**(values | changes))


def model_json(task: Any) -> str:
    return api.Task.model_validate(task, from_attributes=True).model_dump_json()


def test_a_row_seen_again_is_answered_from_memory() -> None:
    first = row()
    assert task_json(first) == model_json(first)
    assert task_json(Row(*first)) is task_json(first)


def test_any_changed_value_is_a_new_json() -> None:
    first = row()
    task_json(first)
    for changes in (
        {"title": "Another title"},
        {"status": "completed"},
        {"updated_at": "2026-11-28 08:00:00.000000+00:00"},
        {"description": "Now with a description"},
    ):
        changed = first._replace(**changes)
        assert task_json(changed) == model_json(changed)
        assert json.loads(task_json(changed)) != json.loads(task_json(first))


def test_the_column_names_are_part_of_the_key() -> None:
    """Rows of statements that name their columns differently never share an entry, even when
    their values are equal."""
    first = row(description="Same values, other columns")
    swapped_columns = ("id", "user_id", "description", "title", *COLUMNS[4:])
    Swapped = namedtuple("Swapped", swapped_columns)  # type: ignore[misc]
    swapped = Swapped(*first)
    assert task_json(first) == model_json(first)
    assert task_json(swapped) == model_json(swapped)
    assert json.loads(task_json(swapped))["title"] == "Same values, other columns"


def test_memory_is_bounded() -> None:
    for _ in range(TASK_JSON_CACHE_ROWS + 10):
        task_json(row())
    assert _task_json.cache_info().currsize == TASK_JSON_CACHE_ROWS


def test_the_list_is_the_task_list_models_json(client: TestClient, user: Account) -> None:
    """The page's task JSONs are put into the envelope's JSON by hand: the body is still what
    `TaskList` serialises, whatever the tasks hold."""
    titles = ['"tasks":[]', '{"tasks":[]}', "] , [", "naïve \\ \u2028 \U0001f600"]
    for title in titles:
        response = client.post(f"{API}/tasks", json={"title": title}, headers=user.headers)
        assert response.status_code == 201, response.text
    response = client.get(f"{API}/tasks", headers=user.headers)
    assert response.status_code == 200
    page = api.TaskList.model_validate_json(response.content)
    assert sorted(task.title for task in page.tasks) == sorted(titles)
    assert response.content.decode() == page.model_dump_json()


def test_an_empty_page(client: TestClient, user: Account) -> None:
    response = client.get(f"{API}/tasks", params={"page": 3}, headers=user.headers)
    assert response.status_code == 200
    assert response.json() == {"tasks": [], "total": 0, "page": 3, "per_page": 20}
