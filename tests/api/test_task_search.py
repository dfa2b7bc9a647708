"""What `q` finds, the same on SQLite and on PostgreSQL (the suite runs on each): words matched
by their start, ignoring case and accents, read off the list's order or off the full-text index.

A search reads the owner's next tasks in order first (app.repositories.tasks.SEARCH_WINDOW of
them) and asks the full-text index only when they leave the page short: each case runs once
where the matches are among the newest tasks and once where a window's worth of newer tasks
hides them, so both ways answer it.
"""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from app.core.statements import NoRows
from app.domain.models import Task
from app.domain.search import search_text
from app.domain.types import utcnow
from app.repositories.tasks import SEARCH_WINDOW
from tests.conftest import API, Account, assert_problem, execute
from tests.pages import every_item

TASKS = f"{API}/tasks"
LONG_WORD = "x" * 90

TITLES = [
    "Write the quarterly report",
    "Quarterly report (Q4)",
    "reporting tools",
    "misreported numbers",
    "Café crème brûlée",
    "ÜBER ÉTÉ Straße",
    "naïve résumé",
    "snake_case and kebab-case",
    "100% done",
    "v2.0 release notes",
    "日本語のタイトル",
    "Ωmega test",
    "NEAR the end",
    "AND OR NOT",
    '"quoted" *star* {braces} ^caret',
    f"{LONG_WORD} long",
    # Letters that case folding, decomposition or an older Unicode than Python's treat apart.
    "\u03d2psilon ΣΊΣ\u03a5Φ\u039fΣ",
    "İstanbul ﬁnal ²nd",
    "ᦰᦱᦲ 🚀 launch",
]

# (q, the titles it finds): the query's words are literal, whatever FTS5 or tsquery make of them.
CASES: list[tuple[str, set[str]]] = [
    ("report", {"Write the quarterly report", "Quarterly report (Q4)", "reporting tools"}),
    ("REPORT quarterly", {"Write the quarterly report", "Quarterly report (Q4)"}),
    ("rep q4", {"Quarterly report (Q4)"}),
    ("reported", set()),  # "misreported" does not start with it
    ("cafe CRÈME brulee", {"Café crème brûlée"}),
    ("uber ete strasse", {"ÜBER ÉTÉ Straße"}),
    ("résumé naïve", {"naïve résumé"}),
    ("case snake", {"snake_case and kebab-case"}),
    ("kebab-case", {"snake_case and kebab-case"}),
    ("100%", {"100% done"}),
    ("v2", {"v2.0 release notes"}),
    ("2.0", set()),  # the words are "2" and "0", and no word of the title starts with "2"
    ("日本", {"日本語のタイトル"}),
    ("ωMEGA", {"Ωmega test"}),
    ("NEAR", {"NEAR the end"}),
    ("NEAR(the end)", {"NEAR the end"}),
    ("AND", {"AND OR NOT", "snake_case and kebab-case"}),
    ("not", {"AND OR NOT", "v2.0 release notes"}),
    ("NOT report", set()),
    ("report OR tools", set()),  # every word must match: "or" starts no word of these
    ('"quoted"', {'"quoted" *star* {braces} ^caret'}),
    ("star* ^caret {braces}", {'"quoted" *star* {braces} ^caret'}),
    ('quo" OR "x', set()),
    ("a:b", set()),
    (LONG_WORD, {f"{LONG_WORD} long"}),
    (LONG_WORD + "y", set()),
    ("nothing like it", set()),
    ("\u03a5PSILON σισυφος", {"\u03d2psilon ΣΊΣ\u03a5Φ\u039fΣ"}),
    ("istanbul fin 2n", {"İstanbul ﬁnal ²nd"}),
    ("ᦰᦱ", {"ᦰᦱᦲ 🚀 launch"}),
    ("🚀launch", {"ᦰᦱᦲ 🚀 launch"}),
]


def _insert_tasks(client: TestClient, account: Account, titles: list[str], start: int) -> None:
    """Tasks stored directly, `start` microseconds after a common base time, in order."""
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "user_id": uuid.UUID(account.id),
            "title": title,
            "search_text": search_text(title),
            "description": None,
            "priority": "medium",
            "status": "todo",
            "due_date": None,
            "version": 1,
            "created_at": now + timedelta(microseconds=start + i),
            "updated_at": now,
        }
        for i, title in enumerate(titles)
    ]
    execute(client, insert(Task.metadata.tables["task"]).values(rows), NoRows)


def _found(client: TestClient, account: Account, q: str) -> set[str]:
    return {t["title"] for t in every_item(client.get, TASKS, account.headers, q=q, per_page=5)}


def _mismatches(client: TestClient, account: Account) -> list[str]:
    wrong = []
    for q, expected in CASES:
        found = _found(client, account, q)
        if found != expected:
            wrong.append(f"q={q!r}: found {sorted(found)}, expected {sorted(expected)}")
    return wrong


def test_among_the_newest_tasks(client: TestClient, user: Account) -> None:
    for title in TITLES:  # through the API, as clients store them
        created = client.post(TASKS, json={"title": title}, headers=user.headers)
        assert created.status_code == 201, created.text
    assert _mismatches(client, user) == []


def test_behind_a_window_of_newer_tasks(client: TestClient, user: Account) -> None:
    _insert_tasks(client, user, TITLES, start=0)
    _insert_tasks(client, user, ["filler"] * SEARCH_WINDOW, start=len(TITLES))
    assert _mismatches(client, user) == []


def test_a_search_pages_through_the_window_and_past_it(client: TestClient, user: Account) -> None:
    """Matches on both sides of the window's edge, read 7 at a time: each once, newest first."""
    titles = [f"{'match' if i % 150 == 0 else 'filler'} {i}" for i in range(SEARCH_WINDOW + 600)]
    _insert_tasks(client, user, titles, start=0)
    found = every_item(client.get, TASKS, user.headers, q="match", per_page=7)
    expected = [t for t in reversed(titles) if t.startswith("match")]
    assert [t["title"] for t in found] == expected


def test_a_changed_title_is_found_by_its_new_words(client: TestClient, user: Account) -> None:
    task = client.post(TASKS, json={"title": "Draft the plan"}, headers=user.headers).json()
    _insert_tasks(client, user, ["filler"] * SEARCH_WINDOW, start=10**9)  # hide it from the window
    changed = client.patch(
        f"{TASKS}/{task['id']}", json={"title": "Ship the release"}, headers=user.headers
    )
    assert changed.status_code == 200, changed.text
    assert _found(client, user, "ship") == {"Ship the release"}
    assert _found(client, user, "draft") == set()
    deleted = client.delete(f"{TASKS}/{task['id']}", headers=user.headers)
    assert deleted.status_code == 204
    assert _found(client, user, "ship") == set()


@pytest.mark.parametrize("q", ['"', "*", "-", "()", "%_", "\\", " : ", "\u00a0\u2028"])
def test_a_query_without_a_letter_or_digit_has_no_words_and_matches_every_task(
    client: TestClient, user: Account, q: str
) -> None:
    _insert_tasks(client, user, ["one", "two"], start=0)
    assert _found(client, user, q) == {"one", "two"}


@pytest.mark.parametrize("raw", ["%00", "a%00b", "%ED%A0%80", "q%ED%A0%80", "%FF%FE", "x" * 101])
def test_hostile_bytes_in_q_are_refused_or_searched_literally(
    client: TestClient, user: Account, raw: str
) -> None:
    """NUL and other control characters are outside the contract (422); bytes that are not
    UTF-8, such as a lone surrogate, read as U+FFFD, which only separates words."""
    client.post(TASKS, json={"title": "q a b"}, headers=user.headers)
    response = client.get(f"{TASKS}?q={raw}", headers=user.headers)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert_problem(response, 422)
    else:
        assert [t["title"] for t in response.json()["tasks"]] == ["q a b"]
