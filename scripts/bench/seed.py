"""Users and tasks made through the API, the way a client makes them (no rows written by hand).

A *reader* owns a couple of hundred tasks (GET /tasks/{id} reads one of them; the list pages
them), a *bulk* user owns thousands (read at random, and paged at random through the cursors of
all its pages, collected once), and a *writer* receives
the creates and owns the tasks that PATCH rewrites, so that the creates never change what the
lists count. Creating thousands of tasks prints a progress line every thousand.
"""

import secrets
import sys
from dataclasses import dataclass
from urllib.parse import quote

import httpx

API = "/api/v1"
PER_PAGE = 20
PRIORITIES = ("low", "medium", "high", "urgent")
TIMEOUT = httpx.Timeout(30.0)


@dataclass
class Account:
    email: str
    password: str
    access_token: str = ""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass
class Fixture:
    reader: Account
    bulk: Account
    writer: Account
    read_task_ids: list[str]
    bulk_task_ids: list[str]
    patch_task_ids: list[str]
    bulk_page_paths: list[str]  # every page of the bulk user's list, by its cursor


def _check(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: expected {status}, "
            f"got {response.status_code}: {response.text[:300]}"
        )
    return response


def log_in(client: httpx.Client, account: Account) -> None:
    """A fresh access token through POST /auth/login (tokens expire after 30 minutes)."""
    body = {"email": account.email, "password": account.password}
    tokens = _check(client.post(f"{API}/auth/login", json=body), 200).json()
    account.access_token = tokens["access_token"]


def _register(client: httpx.Client, role: str) -> Account:
    account = Account(f"bench-{role}@example.com", f"bench-{secrets.token_urlsafe(18)}")
    body = {"email": account.email, "password": account.password}
    _check(client.post(f"{API}/auth/register", json=body), 201)
    log_in(client, account)
    return account


def _create_tasks(client: httpx.Client, account: Account, count: int, label: str) -> list[str]:
    ids = []
    for i in range(count):
        body = {
            "title": f"{label} task {i}",
            "description": "Seeded by the benchmark harness.",
            "priority": PRIORITIES[i % len(PRIORITIES)],
        }
        created = client.post(f"{API}/tasks", json=body, headers=account.headers())
        ids.append(_check(created, 201).json()["id"])
        if (i + 1) % 1000 == 0:
            print(f"  seeded {i + 1:,} of {count:,} {label} tasks", file=sys.stderr, flush=True)
    return ids


def _page_paths(client: httpx.Client, account: Account) -> list[str]:
    """The path of every page of the account's task list: the first, then each by the cursor
    the page before it gave."""
    first = f"{API}/tasks?per_page={PER_PAGE}"
    paths = [first]
    while True:
        page = _check(client.get(paths[-1], headers=account.headers()), 200).json()
        if page["next_cursor"] is None:
            return paths
        paths.append(f"{first}&cursor={quote(page['next_cursor'], safe='')}")


def seed(base_url: str, *, read_tasks: int, bulk_tasks: int, patch_tasks: int) -> Fixture:
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        reader = _register(client, "reader")
        bulk = _register(client, "bulk")
        writer = _register(client, "writer")
        bulk_task_ids = _create_tasks(client, bulk, bulk_tasks, "bulk")
        return Fixture(
            reader=reader,
            bulk=bulk,
            writer=writer,
            read_task_ids=_create_tasks(client, reader, read_tasks, "read"),
            bulk_task_ids=bulk_task_ids,
            patch_task_ids=_create_tasks(client, writer, patch_tasks, "patch"),
            bulk_page_paths=_page_paths(client, bulk) if bulk_tasks else [],
        )


def refresh_tokens(base_url: str, fixture: Fixture) -> None:
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        for account in (fixture.reader, fixture.bulk, fixture.writer):
            log_in(client, account)


def current_etags(base_url: str, fixture: Fixture) -> list[tuple[str, str]]:
    """(id, ETag) of every PATCH task as the server has it now, for If-Match."""
    pairs = []
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        for task_id in fixture.patch_task_ids:
            got = _check(
                client.get(f"{API}/tasks/{task_id}", headers=fixture.writer.headers()), 200
            )
            pairs.append((task_id, got.headers["etag"]))
    return pairs
