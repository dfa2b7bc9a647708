"""Cursor paging of the task list: every sort pages through rows that tie, while other rows are
added and removed between pages, without repeating or skipping one; a cursor only works on the
list that gave it."""

import random
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from generated.models import TaskSort
from tests.conftest import API, Account, assert_problem
from tests.pages import every_item

TASKS = f"{API}/tasks"
RANK = {"low": 0, "medium": 1, "high": 2, "urgent": 3}


def _create(client: TestClient, account: Account, rng: random.Random) -> dict[str, Any]:
    """A task whose sort keys tie with many others'."""
    body: dict[str, Any] = {
        "title": rng.choice(["alpha", "beta", "gamma"]),
        "priority": rng.choice(["low", "high"]),
    }
    due = rng.choice([None, "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"])
    if due is not None:
        body["due_date"] = due
    response = client.post(TASKS, json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


def _in_contract_order(sort: str, tasks: list[dict[str, Any]]) -> list[str]:
    """The ids of `tasks` in the order `sort` names, as the contract words it: `-` reverses, ties
    break by id (reversed too), tasks without a due date come last."""
    name = sort.removeprefix("-")
    descending = sort.startswith("-")

    def value(task: dict[str, Any]) -> Any:
        if name == "priority":
            return RANK[task["priority"]]
        if name in ("created_at", "due_date"):
            return datetime.fromisoformat(task[name]) if task[name] else None
        return task[name]

    by_id = sorted(tasks, key=lambda task: str(task["id"]), reverse=descending)
    present = sorted((t for t in by_id if value(t) is not None), key=value, reverse=descending)
    return [t["id"] for t in present + [t for t in by_id if value(t) is None]]


@pytest.mark.parametrize("sort", [s.value for s in TaskSort])
def test_every_sort_pages_without_repeats_or_gaps_while_rows_change(
    client: TestClient, user: Account, sort: str
) -> None:
    rng = random.Random(sort)
    tasks = {t["id"]: t for t in (_create(client, user, rng) for _ in range(14))}
    seen: list[str] = []
    deleted: set[str] = set()
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": sort, "per_page": 3}
        if cursor is not None:
            params["cursor"] = cursor
        body = client.get(TASKS, params=params, headers=user.headers).json()
        seen += [t["id"] for t in body["tasks"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # Between pages: two new tasks, one seen and one unseen task removed.
        for _ in range(2):
            task = _create(client, user, rng)
            tasks[task["id"]] = task
        unseen = sorted(set(tasks) - set(seen) - deleted)
        for victim in (rng.choice(seen), rng.choice(unseen) if unseen else None):
            if victim is not None and victim not in deleted:
                gone = client.delete(f"{TASKS}/{victim}", headers=user.headers)
                assert gone.status_code == 204, gone.text
                deleted.add(victim)
    assert len(seen) == len(set(seen)), "a row came twice"
    first_ones = list(tasks)[:14]
    kept = [task_id for task_id in first_ones if task_id not in deleted]
    assert set(kept) <= set(seen), "a row that was there all along was skipped"
    assert seen == _in_contract_order(sort, [tasks[task_id] for task_id in seen])


def test_the_list_in_each_sort_is_the_contracts_order(client: TestClient, user: Account) -> None:
    rng = random.Random(7)
    tasks = {t["id"]: t for t in (_create(client, user, rng) for _ in range(12))}
    for sort in TaskSort:
        listed = [t["id"] for t in every_item(client.get, TASKS, user.headers, sort=sort.value)]
        assert listed == _in_contract_order(sort.value, list(tasks.values())), sort


def test_a_page_links_to_the_next(client: TestClient, user: Account) -> None:
    for title in ("one", "two", "three", "ten"):
        client.post(TASKS, json={"title": title}, headers=user.headers)
    first = client.get(TASKS, params={"per_page": 2, "q": "t"}, headers=user.headers)
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    assert first.headers["Link"] == f'</api/v1/tasks?per_page=2&q=t&cursor={cursor}>; rel="next"'
    last = client.get(first.headers["Link"][1:].split(">")[0], headers=user.headers)
    assert [t["title"] for t in first.json()["tasks"]] == ["ten", "three"]
    assert [t["title"] for t in last.json()["tasks"]] == ["two"]  # not "one"
    assert last.json()["next_cursor"] is None
    assert "Link" not in last.headers


def test_following_the_links_reads_every_page_once(client: TestClient, user: Account) -> None:
    """Each page's link carries the query it was asked with and one cursor, its own."""
    for i in range(5):
        client.post(TASKS, json={"title": f"report {i}"}, headers=user.headers)
    link, titles = f"{TASKS}?per_page=2&sort=title&q=report", []
    while link:
        response = client.get(link, headers=user.headers)
        assert response.status_code == 200, response.text
        titles += [t["title"] for t in response.json()["tasks"]]
        link = response.headers.get("Link", "")[1:].split(">")[0]
        if link:
            assert link.count("cursor=") == 1
            assert link.startswith(f"{TASKS}?per_page=2&sort=title&q=report&cursor=")
    assert titles == [f"report {i}" for i in range(5)]


def test_the_page_size_may_change_between_pages(client: TestClient, user: Account) -> None:
    created = [
        client.post(TASKS, json={"title": f"task {i}"}, headers=user.headers).json()["id"]
        for i in range(5)
    ]
    first = client.get(TASKS, params={"per_page": 1}, headers=user.headers).json()
    rest = client.get(
        TASKS, params={"per_page": 10, "cursor": first["next_cursor"]}, headers=user.headers
    ).json()
    assert [t["id"] for t in first["tasks"] + rest["tasks"]] == created[::-1]


def _a_cursor(client: TestClient, account: Account, **params: Any) -> str:
    for i in range(3):
        client.post(TASKS, json={"title": f"report {i}"}, headers=account.headers)
    body = client.get(TASKS, params={"per_page": 1, **params}, headers=account.headers).json()
    cursor: str = body["next_cursor"]
    return cursor


def _refused(client: TestClient, account: Account, **params: Any) -> None:
    response = client.get(TASKS, params={"per_page": 1, **params}, headers=account.headers)
    body = assert_problem(response, 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "cursor"]]


@pytest.mark.parametrize(
    "other",
    [{"sort": "title"}, {"q": "report"}, {"status": "todo"}, {"priority": "high"}],
    ids=["another sort", "a search", "a status", "a priority"],
)
def test_a_cursor_belongs_to_its_filters_and_sort(
    client: TestClient, user: Account, other: dict[str, str]
) -> None:
    cursor = _a_cursor(client, user)
    _refused(client, user, cursor=cursor, **other)


def test_a_cursor_belongs_to_its_caller(
    client: TestClient, user: Account, other_user: Account
) -> None:
    cursor = _a_cursor(client, user)
    _refused(client, other_user, cursor=cursor)


@pytest.mark.parametrize("position", [0, 5, -1])
def test_an_altered_cursor_is_refused(client: TestClient, user: Account, position: int) -> None:
    cursor = _a_cursor(client, user)
    altered = cursor[:position] + ("A" if cursor[position] != "A" else "B")
    altered += cursor[position + 1 :] if position != -1 else ""
    _refused(client, user, cursor=altered)


def test_a_cursor_of_the_users_list_is_refused_on_the_tasks(
    client: TestClient, admin: Account, user: Account, other_user: Account
) -> None:
    body = client.get(f"{API}/users", params={"per_page": 1}, headers=admin.headers).json()
    _refused(client, admin, cursor=body["next_cursor"])


@pytest.mark.parametrize("letter", ["\U0010fffd", '"', "é"])
def test_the_longest_titles_page_by_title(client: TestClient, user: Account, letter: str) -> None:
    """A cursor holds the last title: the longest title, in the letters that take the most
    room, still makes a cursor the contract allows and the list takes back."""
    for _ in range(2):
        response = client.post(TASKS, json={"title": letter * 200}, headers=user.headers)
        assert response.status_code == 201, response.text
    listed = every_item(client.get, TASKS, user.headers, sort="title", per_page=1)
    assert [t["title"] for t in listed] == [letter * 200] * 2
