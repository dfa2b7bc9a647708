"""The task operations, checked against the contract (openapi/openapi.yaml)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from generated import models as api
from tests.conftest import API, Account, assert_problem
from tests.pages import every_item

TASKS = f"{API}/tasks"
# Every property the contract declares (each is required).
TASK_KEYS = set(api.Task.model_fields)
LIST_KEYS = set(api.TaskList.model_fields)
STALE = '"1"'


def url(task_id: str) -> str:
    return f"{TASKS}/{task_id}"


def when(value: str) -> datetime:
    """An RFC 3339 time from a response, which must carry an offset."""
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


def assert_utc(value: str) -> None:
    assert value.endswith(("Z", "+00:00")), value
    assert when(value).utcoffset() == timedelta(0)


def create(client: TestClient, account: Account, **fields: Any) -> dict[str, Any]:
    body = {"title": "A task", **fields}
    response = client.post(TASKS, json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


def fetch(client: TestClient, account: Account, task_id: str) -> httpx.Response:
    response: httpx.Response = client.get(url(task_id), headers=account.headers)
    return response


def listing(client: TestClient, account: Account, **params: Any) -> dict[str, Any]:
    response = client.get(TASKS, params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == LIST_KEYS
    return body


def listed_ids(client: TestClient, account: Account, **params: Any) -> list[str]:
    return [t["id"] for t in listing(client, account, **params)["tasks"]]


def count(client: TestClient, account: Account, **params: Any) -> int:
    """How many tasks the list has, on all its pages."""
    return len(every_item(client.get, TASKS, account.headers, **params))


def assert_invalid(response: httpx.Response, *loc: str | int) -> dict[str, Any]:
    """A 422 validation problem whose errors all have the documented shape, one of them at `loc`."""
    body = assert_problem(response, 422)
    errors: list[dict[str, Any]] = body["errors"]
    assert errors
    for error in errors:
        assert set(error) == {"loc", "msg", "type"}
        assert error["loc"][0] in {"body", "query", "path", "header"}
        assert isinstance(error["msg"], str) and error["msg"]
        assert isinstance(error["type"], str) and error["type"]
    assert [*loc] in [e["loc"] for e in errors], errors
    return body


def with_etag(account: Account, etag: str, header: str = "If-Match") -> dict[str, str]:
    return {**account.headers, header: etag}


class TestCreateTask:
    def test_creates_a_todo_task_owned_by_the_caller(
        self, client: TestClient, user: Account
    ) -> None:
        response = client.post(
            TASKS, json={"title": "Write the report", "description": "Q4"}, headers=user.headers
        )
        assert response.status_code == 201, response.text
        assert response.headers["content-type"] == "application/json"
        task = response.json()
        assert set(task) == TASK_KEYS
        assert task["title"] == "Write the report"
        assert task["description"] == "Q4"
        assert task["status"] == "todo"
        assert task["priority"] == "medium"
        assert task["due_date"] is None
        assert task["user_id"] == user.id
        assert uuid.UUID(task["id"])
        assert_utc(task["created_at"])
        assert task["created_at"] == task["updated_at"]
        assert response.headers["location"] == f"/api/v1/tasks/{task['id']}"
        assert response.headers["etag"] == '"1"'

    def test_the_created_task_can_be_read_back(self, client: TestClient, user: Account) -> None:
        task = create(client, user, priority="high", due_date="2026-12-01T17:00:00Z")
        assert fetch(client, user, task["id"]).json() == task

    def test_urgent_task_without_due_date_is_due_24_hours_after_creation(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user, priority="urgent")
        assert_utc(task["due_date"])
        assert when(task["due_date"]) - when(task["created_at"]) == timedelta(hours=24)

    def test_urgent_task_with_a_due_date_keeps_it(self, client: TestClient, user: Account) -> None:
        task = create(client, user, priority="urgent", due_date="2030-05-06T07:08:09Z")
        assert when(task["due_date"]) == datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)

    def test_urgent_task_with_an_explicit_null_due_date_gets_the_deadline(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user, priority="urgent", due_date=None)
        assert when(task["due_date"]) - when(task["created_at"]) == timedelta(hours=24)

    @pytest.mark.parametrize("priority", ["low", "medium", "high"])
    def test_non_urgent_task_without_due_date_has_none(
        self, client: TestClient, user: Account, priority: str
    ) -> None:
        assert create(client, user, priority=priority)["due_date"] is None

    def test_due_date_with_an_offset_is_answered_in_utc(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user, due_date="2026-12-01T19:00:00+02:00")
        assert_utc(task["due_date"])
        assert when(task["due_date"]) == datetime(2026, 12, 1, 17, tzinfo=UTC)

    def test_description_may_contain_line_breaks_and_tabs(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user, description="line one\nline two\r\n\tindented")
        assert task["description"] == "line one\nline two\r\n\tindented"

    def test_title_of_200_characters_is_accepted(self, client: TestClient, user: Account) -> None:
        assert create(client, user, title="t" * 200)["title"] == "t" * 200

    def test_description_of_2000_characters_is_accepted(
        self, client: TestClient, user: Account
    ) -> None:
        assert create(client, user, description="d" * 2000)["description"] == "d" * 2000

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"title": ""}, ("body", "title")),
            ({"title": "t" * 201}, ("body", "title")),
            ({"title": "x", "description": "d" * 2001}, ("body", "description")),
            ({"title": "nul\u0000byte"}, ("body", "title")),
            ({"title": "two\nlines"}, ("body", "title")),
            ({"title": None}, ("body", "title")),
            ({}, ("body", "title")),
            ({"title": "x", "status": "completed"}, ("body", "status")),
            ({"title": "x", "user_id": str(uuid.uuid4())}, ("body", "user_id")),
            ({"title": "x", "due_date": "2026-01-01T00:00:00"}, ("body", "due_date")),
            ({"title": "x", "due_date": 0}, ("body", "due_date")),
            ({"title": "x", "due_date": "tomorrow"}, ("body", "due_date")),
            ({"title": "x", "priority": "1"}, ("body", "priority")),
            ({"title": "x", "priority": 1}, ("body", "priority")),
            ({"title": "x", "priority": "soon"}, ("body", "priority")),
            ({"title": 5}, ("body", "title")),
        ],
        ids=[
            "empty-title",
            "title-201",
            "description-2001",
            "title-nul",
            "title-newline",
            "title-null",
            "title-missing",
            "status-mass-assignment",
            "user-id-mass-assignment",
            "naive-due-date",
            "due-date-number",
            "due-date-text",
            "priority-numeric-string",
            "priority-integer",
            "priority-unknown",
            "title-integer",
        ],
    )
    def test_invalid_body_is_422_and_creates_nothing(
        self,
        client: TestClient,
        user: Account,
        body: dict[str, Any],
        loc: tuple[str, ...],
    ) -> None:
        assert_invalid(client.post(TASKS, json=body, headers=user.headers), *loc)
        assert count(client, user) == 0

    def test_malformed_json_is_422(self, client: TestClient, user: Account) -> None:
        response = client.post(
            TASKS,
            content=b'{"title": ',
            headers={**user.headers, "Content-Type": "application/json"},
        )
        assert_invalid(response, "body")

    def test_json_array_body_is_422(self, client: TestClient, user: Account) -> None:
        assert_invalid(client.post(TASKS, json=[{"title": "x"}], headers=user.headers), "body")

    def test_a_bad_token_is_refused_before_a_bad_key_or_body(self, client: TestClient) -> None:
        """The endpoint checks the token, then the Idempotency-Key, then the body."""
        garbage = {"Authorization": "Bearer not-a-jwt", "Idempotency-Key": "?" * 300}
        assert_problem(client.post(TASKS, json=[], headers=garbage), 401)

    def test_a_bad_key_is_refused_before_a_bad_body(
        self, client: TestClient, user: Account
    ) -> None:
        headers = {**user.headers, "Idempotency-Key": "?" * 300}
        assert_invalid(client.post(TASKS, json=[], headers=headers), "header", "Idempotency-Key")

    @pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
    def test_body_that_is_not_json_content_type_is_422(
        self, client: TestClient, user: Account, content_type: str
    ) -> None:
        response = client.post(
            TASKS,
            content=b'{"title": "x"}',
            headers={**user.headers, "Content-Type": content_type},
        )
        assert_invalid(response, "body")
        assert count(client, user) == 0

    @pytest.mark.parametrize("due_date", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
    def test_due_date_without_a_utc_equivalent_is_422_not_500(
        self, client: TestClient, user: Account, due_date: str
    ) -> None:
        response = client.post(
            TASKS, json={"title": "x", "due_date": due_date}, headers=user.headers
        )
        assert_problem(response, 422)
        assert count(client, user) == 0

    def test_without_token_is_401(self, client: TestClient) -> None:
        assert_problem(client.post(TASKS, json={"title": "x"}), 401)

    def test_with_a_garbage_token_is_401(self, client: TestClient) -> None:
        response = client.post(
            TASKS, json={"title": "x"}, headers={"Authorization": "Bearer not-a-jwt"}
        )
        assert_problem(response, 401)


class TestListTasks:
    def test_lists_only_the_callers_tasks(
        self, client: TestClient, user: Account, other_user: Account
    ) -> None:
        mine = {create(client, user, title=f"mine {i}")["id"] for i in range(2)}
        theirs = create(client, other_user, title="theirs")["id"]
        body = listing(client, user)
        assert body["next_cursor"] is None
        assert body["per_page"] == 20
        assert {t["id"] for t in body["tasks"]} == mine
        assert all(set(t) == TASK_KEYS and t["user_id"] == user.id for t in body["tasks"])
        assert listed_ids(client, other_user) == [theirs]

    def test_another_users_task_never_appears_even_when_filters_match_it(
        self, client: TestClient, user: Account, other_user: Account
    ) -> None:
        create(client, other_user, title="secret report", priority="high")
        body = listing(client, user, q="secret", priority="high", status="todo")
        assert body == {"tasks": [], "per_page": 20, "next_cursor": None}

    def test_empty_list(self, client: TestClient, user: Account) -> None:
        assert listing(client, user) == {"tasks": [], "per_page": 20, "next_cursor": None}

    def test_filters_by_status(self, client: TestClient, user: Account) -> None:
        create(client, user, title="open")
        done = create(client, user, title="done")["id"]
        patched = client.patch(url(done), json={"status": "completed"}, headers=user.headers)
        assert patched.status_code == 200, patched.text
        assert listed_ids(client, user, status="completed") == [done]
        assert count(client, user, status="todo") == 1
        assert count(client, user, status="in_progress") == 0

    def test_filters_by_priority(self, client: TestClient, user: Account) -> None:
        high = create(client, user, priority="high")["id"]
        create(client, user, priority="low")
        create(client, user)
        assert listed_ids(client, user, priority="high") == [high]
        assert count(client, user, priority="medium") == 1
        assert count(client, user, priority="urgent") == 0

    def test_due_before_is_strict_and_due_after_is_inclusive(
        self, client: TestClient, user: Account
    ) -> None:
        earlier = create(client, user, due_date="2026-12-01T11:00:00Z")["id"]
        exact = create(client, user, due_date="2026-12-01T12:00:00Z")["id"]
        later = create(client, user, due_date="2026-12-01T13:00:00Z")["id"]
        create(client, user)  # no due date: matches neither filter
        assert listed_ids(client, user, due_before="2026-12-01T12:00:00Z") == [earlier]
        after = listed_ids(client, user, due_after="2026-12-01T12:00:00Z")
        assert set(after) == {exact, later}
        both = listed_ids(
            client, user, due_after="2026-12-01T12:00:00Z", due_before="2026-12-01T13:00:00Z"
        )
        assert both == [exact]

    def test_time_filters_honour_the_offset(self, client: TestClient, user: Account) -> None:
        exact = create(client, user, due_date="2026-12-01T12:00:00Z")["id"]
        assert listed_ids(client, user, due_after="2026-12-01T14:00:00+02:00") == [exact]
        assert listed_ids(client, user, due_before="2026-12-01T14:00:00+02:00") == []

    def test_q_finds_titles_with_a_word_starting_with_each_word(
        self, client: TestClient, user: Account
    ) -> None:
        upper = create(client, user, title="Write the REPORT")["id"]
        lower = create(client, user, title="reports, card")["id"]
        create(client, user, title="misreported")  # no word starts with "report"
        create(client, user, title="Something else", description="report in description")
        assert set(listed_ids(client, user, q="RePoRt")) == {upper, lower}
        assert listed_ids(client, user, q="rep wri") == [upper]
        assert listed_ids(client, user, q="card report") == [lower]

    def test_q_ignores_case_and_accents_beyond_ascii(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user, title="ÜBER ÉTÉ Straße")["id"]
        assert listed_ids(client, user, q="über été") == [task]
        assert listed_ids(client, user, q="uber ete strasse") == [task]

    def test_punctuation_in_q_only_separates_words(self, client: TestClient, user: Account) -> None:
        percent = create(client, user, title="100% done")["id"]
        snake = create(client, user, title="snake_case")["id"]
        create(client, user, title="plain")
        assert listed_ids(client, user, q="100%") == [percent]
        assert listed_ids(client, user, q="case_snake") == [snake]
        assert listed_ids(client, user, q='"done" OR *') == []  # "or" starts no word
        assert listed_ids(client, user, q='"done" (100)*') == [percent]

    @pytest.mark.parametrize("q", ["%", "_", "\\", '"*"', "- ( ) :"])
    def test_q_without_a_letter_or_digit_matches_every_task(
        self, client: TestClient, user: Account, q: str
    ) -> None:
        tasks = {create(client, user, title=title)["id"] for title in ("100% done", "plain")}
        assert set(listed_ids(client, user, q=q)) == tasks

    def test_default_sort_is_newest_first(self, client: TestClient, user: Account) -> None:
        tasks = [create(client, user, title=f"task {i}") for i in range(3)]
        expected = sorted(tasks, key=lambda t: (when(t["created_at"]), t["id"]), reverse=True)
        ids = [t["id"] for t in expected]
        assert listed_ids(client, user) == ids
        assert listed_ids(client, user, sort="-created_at") == ids

    def test_sort_by_created_at_is_oldest_first(self, client: TestClient, user: Account) -> None:
        tasks = [create(client, user, title=f"task {i}") for i in range(3)]
        expected = sorted(tasks, key=lambda t: (when(t["created_at"]), t["id"]))
        assert listed_ids(client, user, sort="created_at") == [t["id"] for t in expected]

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [("due_date", ["d1", "d2", "d3", "none"]), ("-due_date", ["d3", "d2", "d1", "none"])],
    )
    def test_sort_by_due_date_puts_tasks_without_one_last(
        self, client: TestClient, user: Account, sort: str, expected: list[str]
    ) -> None:
        create(client, user, title="d2", due_date="2026-12-02T00:00:00Z")
        create(client, user, title="none")
        create(client, user, title="d1", due_date="2026-12-01T00:00:00Z")
        create(client, user, title="d3", due_date="2026-12-03T00:00:00Z")
        titles = [t["title"] for t in listing(client, user, sort=sort)["tasks"]]
        assert titles == expected

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            ("priority", ["low", "medium", "high", "urgent"]),
            ("-priority", ["urgent", "high", "medium", "low"]),
        ],
    )
    def test_sort_by_priority_uses_the_priority_order(
        self, client: TestClient, user: Account, sort: str, expected: list[str]
    ) -> None:
        for priority in ["medium", "urgent", "low", "high"]:
            create(client, user, priority=priority)
        priorities = [t["priority"] for t in listing(client, user, sort=sort)["tasks"]]
        assert priorities == expected

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [("title", ["apple", "banana", "cherry"]), ("-title", ["cherry", "banana", "apple"])],
    )
    def test_sort_by_title(
        self, client: TestClient, user: Account, sort: str, expected: list[str]
    ) -> None:
        for title in ["banana", "cherry", "apple"]:
            create(client, user, title=title)
        assert [t["title"] for t in listing(client, user, sort=sort)["tasks"]] == expected

    @pytest.mark.parametrize("sort", ["priority", "-priority", "title", "due_date", "-due_date"])
    def test_pages_are_stable_when_sort_keys_tie(
        self, client: TestClient, user: Account, sort: str
    ) -> None:
        created = {create(client, user, title="same", priority="high")["id"] for _ in range(5)}
        first = listing(client, user, sort=sort, per_page=2)
        second = listing(client, user, sort=sort, per_page=2, cursor=first["next_cursor"])
        third = listing(client, user, sort=sort, per_page=2, cursor=second["next_cursor"])
        pages = [first, second, third]
        assert [len(p["tasks"]) for p in pages] == [2, 2, 1]
        assert third["next_cursor"] is None
        seen = [t["id"] for p in pages for t in p["tasks"]]
        assert len(seen) == len(set(seen)) == 5
        assert set(seen) == created

    def test_the_last_full_page_has_no_next_cursor(self, client: TestClient, user: Account) -> None:
        for i in range(4):
            create(client, user, title=f"task {i}")
        first = listing(client, user, per_page=2)
        assert first["next_cursor"] is not None
        last = listing(client, user, per_page=2, cursor=first["next_cursor"])
        assert len(last["tasks"]) == 2
        assert last["next_cursor"] is None

    def test_per_page_bounds_are_inclusive(self, client: TestClient, user: Account) -> None:
        create(client, user)
        assert listing(client, user, per_page=1)["per_page"] == 1
        assert listing(client, user, per_page=100)["per_page"] == 100

    @pytest.mark.parametrize(
        ("params", "name"),
        [
            ({"per_page": 0}, "per_page"),
            ({"per_page": 101}, "per_page"),
            ({"cursor": ""}, "cursor"),
            ({"cursor": "not a cursor"}, "cursor"),
            ({"cursor": "x" * 513}, "cursor"),
            ({"status": "done"}, "status"),
            ({"priority": "critical"}, "priority"),
            ({"due_before": "2026-01-01T00:00:00"}, "due_before"),
            ({"due_after": "not-a-date"}, "due_after"),
            ({"sort": "user_id"}, "sort"),
            ({"q": ""}, "q"),
            ({"q": "q" * 101}, "q"),
        ],
    )
    def test_invalid_query_is_422(
        self, client: TestClient, user: Account, params: dict[str, Any], name: str
    ) -> None:
        assert_invalid(client.get(TASKS, params=params, headers=user.headers), "query", name)

    def test_a_bad_token_is_refused_before_a_bad_query(self, client: TestClient) -> None:
        """The endpoint checks the token first, then parses the query."""
        bad_query = {"per_page": 0}
        assert_problem(client.get(TASKS, params=bad_query), 401)
        garbage = {"Authorization": "Bearer not-a-jwt"}
        assert_problem(client.get(TASKS, params=bad_query, headers=garbage), 401)

    def test_time_filter_without_a_utc_equivalent_is_422_not_500(
        self, client: TestClient, user: Account
    ) -> None:
        response = client.get(
            TASKS, params={"due_before": "0001-01-01T00:00:00+01:00"}, headers=user.headers
        )
        assert_problem(response, 422)

    def test_without_token_is_401(self, client: TestClient) -> None:
        assert_problem(client.get(TASKS), 401)


class TestGetTask:
    def test_returns_the_task_with_its_etag(self, client: TestClient, user: Account) -> None:
        task = create(client, user, title="Read me", description="body", priority="low")
        response = fetch(client, user, task["id"])
        assert response.status_code == 200, response.text
        assert response.json() == task
        assert response.headers["etag"] == '"1"'

    @pytest.mark.parametrize("etag", ['"1"', 'W/"1"', "*", '"7", "1"'])
    def test_if_none_match_naming_the_current_etag_is_304_without_body(
        self, client: TestClient, user: Account, etag: str
    ) -> None:
        task = create(client, user)
        response = client.get(url(task["id"]), headers=with_etag(user, etag, "If-None-Match"))
        assert response.status_code == 304, response.text
        assert response.content == b""
        assert response.headers["etag"] == '"1"'
        assert response.headers["x-request-id"]

    def test_if_none_match_with_another_etag_is_200(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user)
        response = client.get(url(task["id"]), headers=with_etag(user, '"2"', "If-None-Match"))
        assert response.status_code == 200, response.text
        assert response.json() == task

    def test_old_etag_is_200_after_a_change(self, client: TestClient, user: Account) -> None:
        task = create(client, user)
        client.patch(url(task["id"]), json={"title": "New"}, headers=user.headers)
        response = client.get(url(task["id"]), headers=with_etag(user, '"1"', "If-None-Match"))
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"2"'
        assert response.json()["title"] == "New"

    def test_another_users_task_is_404(
        self, client: TestClient, user: Account, other_user: Account
    ) -> None:
        task = create(client, other_user)
        assert_problem(fetch(client, user, task["id"]), 404)
        assert_problem(
            client.get(url(task["id"]), headers=with_etag(user, "*", "If-None-Match")), 404
        )

    def test_unknown_task_is_404(self, client: TestClient, user: Account) -> None:
        assert_problem(fetch(client, user, str(uuid.uuid4())), 404)

    def test_id_that_is_not_a_uuid_is_422(self, client: TestClient, user: Account) -> None:
        assert_invalid(fetch(client, user, "not-a-uuid"), "path", "task_id")

    def test_a_bad_token_is_refused_before_a_bad_id(self, client: TestClient) -> None:
        """The endpoint checks the token first, then parses the path."""
        assert_problem(client.get(url("not-a-uuid")), 401)
        garbage = {"Authorization": "Bearer not-a-jwt"}
        assert_problem(client.get(url("not-a-uuid"), headers=garbage), 401)

    def test_over_long_if_none_match_is_422(self, client: TestClient, user: Account) -> None:
        task = create(client, user)
        headers = with_etag(user, '"' + "1" * 300 + '"', "If-None-Match")
        response = client.get(url(task["id"]), headers=headers)
        assert_invalid(response, "header", "If-None-Match")

    def test_without_token_is_401(self, client: TestClient, user: Account) -> None:
        task = create(client, user)
        assert_problem(client.get(url(task["id"])), 401)


REPLACEMENT: dict[str, Any] = {
    "title": "Replaced",
    "description": "New description",
    "priority": "high",
    "status": "in_progress",
    "due_date": "2027-01-02T03:04:05Z",
}


class TestReplaceTask:
    def test_replaces_every_field_and_bumps_the_etag(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user, title="Original", priority="low")
        response = client.put(url(task["id"]), json=REPLACEMENT, headers=user.headers)
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"2"'
        replaced = response.json()
        assert set(replaced) == TASK_KEYS
        assert {k: replaced[k] for k in REPLACEMENT if k != "due_date"} == {
            k: v for k, v in REPLACEMENT.items() if k != "due_date"
        }
        assert when(replaced["due_date"]) == datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert replaced["id"] == task["id"]
        assert replaced["user_id"] == user.id
        assert replaced["created_at"] == task["created_at"]
        assert_utc(replaced["updated_at"])
        assert when(replaced["updated_at"]) > when(task["updated_at"])
        assert when(replaced["updated_at"]) >= when(replaced["created_at"])
        assert fetch(client, user, task["id"]).json() == replaced

    def test_omitted_optional_fields_become_null(self, client: TestClient, user: Account) -> None:
        task = create(client, user, description="keep?", due_date="2026-12-01T17:00:00Z")
        body = {"title": "Bare", "priority": "medium", "status": "todo"}
        response = client.put(url(task["id"]), json=body, headers=user.headers)
        assert response.status_code == 200, response.text
        assert response.json()["description"] is None
        assert response.json()["due_date"] is None

    def test_due_date_with_an_offset_is_stored_in_utc(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user)
        body = {**REPLACEMENT, "due_date": "2027-01-02T05:04:05+02:00"}
        replaced = client.put(url(task["id"]), json=body, headers=user.headers).json()
        assert_utc(replaced["due_date"])
        assert when(replaced["due_date"]) == datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)

    @pytest.mark.parametrize("field", ["title", "priority", "status"])
    def test_missing_required_field_is_422(
        self, client: TestClient, user: Account, field: str
    ) -> None:
        task = create(client, user)
        body = {k: v for k, v in REPLACEMENT.items() if k != field}
        assert_invalid(client.put(url(task["id"]), json=body, headers=user.headers), "body", field)
        assert fetch(client, user, task["id"]).json() == task

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"user_id": "00000000-0000-0000-0000-000000000000"}, "user_id"),
            ({"id": "00000000-0000-0000-0000-000000000000"}, "id"),
            ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
            ({"status": "done"}, "status"),
            ({"title": ""}, "title"),
            ({"title": None}, "title"),
            ({"priority": 1}, "priority"),
            ({"due_date": "2026-01-01T00:00:00"}, "due_date"),
        ],
    )
    def test_invalid_body_is_422_and_changes_nothing(
        self, client: TestClient, user: Account, changes: dict[str, Any], field: str
    ) -> None:
        task = create(client, user)
        response = client.put(
            url(task["id"]), json={**REPLACEMENT, **changes}, headers=user.headers
        )
        assert_invalid(response, "body", field)
        assert fetch(client, user, task["id"]).json() == task

    def test_due_date_without_a_utc_equivalent_is_422_not_500(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user)
        body = {**REPLACEMENT, "due_date": "0001-01-01T00:00:00+01:00"}
        assert_problem(client.put(url(task["id"]), json=body, headers=user.headers), 422)

    @pytest.mark.parametrize("etag", ['"1"', "*", '"5", "1"'])
    def test_matching_if_match_is_200(self, client: TestClient, user: Account, etag: str) -> None:
        task = create(client, user)
        response = client.put(url(task["id"]), json=REPLACEMENT, headers=with_etag(user, etag))
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"2"'

    def test_stale_if_match_is_412_with_the_current_etag(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user)
        first = client.put(url(task["id"]), json=REPLACEMENT, headers=with_etag(user, '"1"'))
        assert first.status_code == 200, first.text
        second = {**REPLACEMENT, "title": "Lost update"}
        response = client.put(url(task["id"]), json=second, headers=with_etag(user, STALE))
        assert_problem(response, 412)
        assert response.headers["etag"] == '"2"'
        assert fetch(client, user, task["id"]).json() == first.json()

    def test_weak_if_match_never_matches(self, client: TestClient, user: Account) -> None:
        task = create(client, user)
        response = client.put(url(task["id"]), json=REPLACEMENT, headers=with_etag(user, 'W/"1"'))
        assert_problem(response, 412)
        assert response.headers["etag"] == '"1"'

    @pytest.mark.parametrize(
        ("tags", "matches"),
        [
            ('"2147483648"', False),
            ('"99999999999999999999"', False),
            ('"99999999999999999999", "{current}"', True),
        ],
    )
    def test_versions_beyond_the_column_match_nothing(
        self, client: TestClient, user: Account, tags: str, matches: bool
    ) -> None:
        task = create(client, user)
        current = 1
        for method, success in (("PUT", 200), ("PATCH", 200), ("DELETE", 204)):
            headers = with_etag(user, tags.format(current=current))
            body = None if method == "DELETE" else REPLACEMENT
            response = client.request(method, url(task["id"]), json=body, headers=headers)
            assert response.status_code == (success if matches else 412), response.text
            current += matches

    @pytest.mark.parametrize("etag", [None, '"1"', "*"])
    def test_another_users_task_is_404(
        self, client: TestClient, user: Account, other_user: Account, etag: str | None
    ) -> None:
        task = create(client, other_user)
        headers = user.headers if etag is None else with_etag(user, etag)
        assert_problem(client.put(url(task["id"]), json=REPLACEMENT, headers=headers), 404)
        assert fetch(client, other_user, task["id"]).json() == task

    def test_unknown_task_is_404(self, client: TestClient, user: Account) -> None:
        response = client.put(url(str(uuid.uuid4())), json=REPLACEMENT, headers=user.headers)
        assert_problem(response, 404)

    def test_id_that_is_not_a_uuid_is_422(self, client: TestClient, user: Account) -> None:
        response = client.put(url("not-a-uuid"), json=REPLACEMENT, headers=user.headers)
        assert_invalid(response, "path", "task_id")

    def test_a_bad_id_is_refused_before_a_bad_if_match_or_body(
        self, client: TestClient, user: Account
    ) -> None:
        """The endpoint checks the token, then the id, then If-Match, then the body."""
        headers = with_etag(user, '"' + "1" * 300 + '"')
        bad_id = client.put(url("not-a-uuid"), json=[], headers=headers)
        errors = assert_invalid(bad_id, "path", "task_id")["errors"]
        assert [e["loc"] for e in errors] == [["path", "task_id"]]
        bad_if_match = client.put(url(str(uuid.uuid4())), json=[], headers=headers)
        errors = assert_invalid(bad_if_match, "header", "If-Match")["errors"]
        assert [e["loc"] for e in errors] == [["header", "If-Match"]]

    def test_over_long_if_match_is_422(self, client: TestClient, user: Account) -> None:
        task = create(client, user)
        headers = with_etag(user, '"' + "1" * 300 + '"')
        response = client.put(url(task["id"]), json=REPLACEMENT, headers=headers)
        assert_invalid(response, "header", "If-Match")

    def test_without_token_is_401(self, client: TestClient, user: Account) -> None:
        task = create(client, user)
        assert_problem(client.put(url(task["id"]), json=REPLACEMENT), 401)
        assert fetch(client, user, task["id"]).json() == task


class TestUpdateTask:
    def test_changes_only_the_fields_sent(self, client: TestClient, user: Account) -> None:
        task = create(
            client,
            user,
            title="Keep",
            description="Keep too",
            priority="high",
            due_date="2026-12-01T17:00:00Z",
        )
        response = client.patch(url(task["id"]), json={"status": "completed"}, headers=user.headers)
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"2"'
        updated = response.json()
        assert updated["status"] == "completed"
        unchanged = TASK_KEYS - {"status", "updated_at"}
        assert {k: updated[k] for k in unchanged} == {k: task[k] for k in unchanged}
        assert when(updated["updated_at"]) > when(task["updated_at"])
        assert fetch(client, user, task["id"]).json() == updated

    def test_description_null_clears_it(self, client: TestClient, user: Account) -> None:
        task = create(client, user, description="Something")
        response = client.patch(url(task["id"]), json={"description": None}, headers=user.headers)
        assert response.status_code == 200, response.text
        assert response.json()["description"] is None
        assert response.json()["title"] == task["title"]

    def test_due_date_can_be_set_and_cleared(self, client: TestClient, user: Account) -> None:
        task = create(client, user)
        set_response = client.patch(
            url(task["id"]), json={"due_date": "2026-12-01T19:00:00+02:00"}, headers=user.headers
        )
        assert set_response.status_code == 200, set_response.text
        assert_utc(set_response.json()["due_date"])
        assert when(set_response.json()["due_date"]) == datetime(2026, 12, 1, 17, tzinfo=UTC)
        cleared = client.patch(url(task["id"]), json={"due_date": None}, headers=user.headers)
        assert cleared.json()["due_date"] is None
        assert cleared.headers["etag"] == '"3"'

    def test_empty_patch_changes_no_field(self, client: TestClient, user: Account) -> None:
        task = create(client, user, description="d")
        response = client.patch(url(task["id"]), json={}, headers=user.headers)
        assert response.status_code == 200, response.text
        fields = api.TaskUpdate.model_fields
        assert {k: response.json()[k] for k in fields} == {k: task[k] for k in fields}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"title": None}, "title"),
            ({"title": ""}, "title"),
            ({"title": "a\nb"}, "title"),
            ({"status": "done"}, "status"),
            ({"status": None}, "status"),
            ({"priority": None}, "priority"),
            ({"priority": "1"}, "priority"),
            ({"due_date": "2026-01-01T00:00:00"}, "due_date"),
            ({"user_id": "00000000-0000-0000-0000-000000000000"}, "user_id"),
            ({"description": "d" * 2001}, "description"),
        ],
    )
    def test_invalid_body_is_422_and_changes_nothing(
        self, client: TestClient, user: Account, body: dict[str, Any], field: str
    ) -> None:
        task = create(client, user)
        response = client.patch(url(task["id"]), json=body, headers=user.headers)
        assert_invalid(response, "body", field)
        assert fetch(client, user, task["id"]).json() == task

    def test_due_date_without_a_utc_equivalent_is_422_not_500(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user)
        body = {"due_date": "0001-01-01T00:00:00+01:00"}
        assert_problem(client.patch(url(task["id"]), json=body, headers=user.headers), 422)

    @pytest.mark.parametrize("etag", ['"1"', "*"])
    def test_matching_if_match_is_200(self, client: TestClient, user: Account, etag: str) -> None:
        task = create(client, user)
        body = {"title": "New"}
        response = client.patch(url(task["id"]), json=body, headers=with_etag(user, etag))
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"2"'

    def test_stale_if_match_is_412_with_the_current_etag(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user)
        first = client.patch(url(task["id"]), json={"title": "First"}, headers=user.headers)
        assert first.status_code == 200, first.text
        body = {"title": "Second"}
        response = client.patch(url(task["id"]), json=body, headers=with_etag(user, STALE))
        assert_problem(response, 412)
        assert response.headers["etag"] == '"2"'
        assert fetch(client, user, task["id"]).json()["title"] == "First"

    def test_of_several_writers_with_the_same_etag_exactly_one_wins(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user)
        responses = [
            client.patch(
                url(task["id"]), json={"title": f"Writer {i}"}, headers=with_etag(user, '"1"')
            )
            for i in range(3)
        ]
        assert sorted(r.status_code for r in responses) == [200, 412, 412]
        for response in responses:
            if response.status_code == 412:
                assert_problem(response, 412)
                assert response.headers["etag"] == '"2"'
        current = fetch(client, user, task["id"])
        assert current.headers["etag"] == '"2"'
        assert current.json()["title"] == "Writer 0"

    @pytest.mark.parametrize("etag", [None, '"1"'])
    def test_another_users_task_is_404(
        self, client: TestClient, user: Account, other_user: Account, etag: str | None
    ) -> None:
        task = create(client, other_user)
        headers = user.headers if etag is None else with_etag(user, etag)
        response = client.patch(url(task["id"]), json={"title": "Hijack"}, headers=headers)
        assert_problem(response, 404)
        assert fetch(client, other_user, task["id"]).json() == task

    def test_unknown_task_is_404(self, client: TestClient, user: Account) -> None:
        response = client.patch(url(str(uuid.uuid4())), json={"title": "x"}, headers=user.headers)
        assert_problem(response, 404)

    def test_id_that_is_not_a_uuid_is_422(self, client: TestClient, user: Account) -> None:
        response = client.patch(url("not-a-uuid"), json={"title": "x"}, headers=user.headers)
        assert_invalid(response, "path", "task_id")

    def test_without_token_is_401(self, client: TestClient, user: Account) -> None:
        task = create(client, user)
        assert_problem(client.patch(url(task["id"]), json={"title": "x"}), 401)
        assert fetch(client, user, task["id"]).json() == task


class TestDeleteTask:
    def test_deletes_the_task(self, client: TestClient, user: Account) -> None:
        task = create(client, user)
        response = client.delete(url(task["id"]), headers=user.headers)
        assert response.status_code == 204, response.text
        assert response.content == b""
        assert_problem(fetch(client, user, task["id"]), 404)
        assert count(client, user) == 0

    def test_deleting_twice_is_404(self, client: TestClient, user: Account) -> None:
        task = create(client, user)
        assert client.delete(url(task["id"]), headers=user.headers).status_code == 204
        assert_problem(client.delete(url(task["id"]), headers=user.headers), 404)

    @pytest.mark.parametrize("etag", ['"1"', "*"])
    def test_matching_if_match_deletes(self, client: TestClient, user: Account, etag: str) -> None:
        task = create(client, user)
        response = client.delete(url(task["id"]), headers=with_etag(user, etag))
        assert response.status_code == 204, response.text
        assert_problem(fetch(client, user, task["id"]), 404)

    def test_stale_if_match_is_412_and_keeps_the_task(
        self, client: TestClient, user: Account
    ) -> None:
        task = create(client, user)
        changed = client.patch(url(task["id"]), json={"title": "Changed"}, headers=user.headers)
        assert changed.status_code == 200, changed.text
        response = client.delete(url(task["id"]), headers=with_etag(user, STALE))
        assert_problem(response, 412)
        assert response.headers["etag"] == '"2"'
        assert fetch(client, user, task["id"]).json() == changed.json()

    @pytest.mark.parametrize("etag", [None, '"1"'])
    def test_another_users_task_is_404_and_is_kept(
        self, client: TestClient, user: Account, other_user: Account, etag: str | None
    ) -> None:
        task = create(client, other_user)
        headers = user.headers if etag is None else with_etag(user, etag)
        assert_problem(client.delete(url(task["id"]), headers=headers), 404)
        assert fetch(client, other_user, task["id"]).json() == task

    def test_unknown_task_is_404(self, client: TestClient, user: Account) -> None:
        assert_problem(client.delete(url(str(uuid.uuid4())), headers=user.headers), 404)

    def test_id_that_is_not_a_uuid_is_422(self, client: TestClient, user: Account) -> None:
        response = client.delete(url("not-a-uuid"), headers=user.headers)
        assert_invalid(response, "path", "task_id")

    def test_without_token_is_401(self, client: TestClient, user: Account) -> None:
        task = create(client, user)
        assert_problem(client.delete(url(task["id"])), 401)
        assert fetch(client, user, task["id"]).status_code == 200
