"""The container check's smoke test (scripts/container_check.sh), against a running server.

    python3 scripts/container_smoke.py URL EMAIL PASSWORD            health, register, login,
                                                                     create a task, read it back
    python3 scripts/container_smoke.py URL EMAIL PASSWORD --task ID  health, login, read task ID
                                                                     (after a restart: it survived)

URL is the server's root (http://127.0.0.1:8000). One line per call; the last line of the first
form is `task ID`, for the second. Exits 1 at the first answer that is not the documented one.
Only the standard library: it runs with any python3, outside the project's virtual environment.
"""

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

API = "/api/v1"
TIMEOUT = 10


class SmokeError(Exception):
    pass


def call(
    base: str, method: str, path: str, body: object = None, token: str | None = None
) -> tuple[int, dict[str, str], Any]:
    """One request; its status, headers and JSON body (None when it has none)."""
    headers = {"accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    # The URL is the check's own server on the loopback (S310: schemes other than http(s)).
    url = base + API + path
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, got = error.code, error.read(), dict(error.headers)
    return status, got, json.loads(raw) if raw else None


def expect(
    name: str, answer: tuple[int, dict[str, str], Any], status: int, summary: str = ""
) -> Any:
    code, _, body = answer
    if code != status:
        raise SmokeError(f"{name}: expected {status}, got {code}: {json.dumps(body)}")
    print(f"{name}: {code} {summary.format(body=body, json=json.dumps(body))}".rstrip(), flush=True)
    return body


def smoke(base: str, email: str, password: str, task_id: str | None) -> None:
    expect("health", call(base, "GET", "/health"), 200, "{json}")
    credentials = {"email": email, "password": password}
    if task_id is None:
        user = expect("register", call(base, "POST", "/auth/register", credentials), 201)
        print(f"          user {user['id']} {user['email']} role={user['role']}")
    tokens = expect("login", call(base, "POST", "/auth/login", credentials), 200)
    token = tokens["access_token"]
    print(f"          token_type={tokens['token_type']}")
    if task_id is None:
        new = {"title": "Ship the container image", "priority": "high"}
        answer = call(base, "POST", "/tasks", new, token)
        created = expect("create task", answer, 201)
        etag = answer[1].get("ETag") or answer[1].get("etag")
        print(f"          task {created['id']} etag={etag}")
        task_id = str(created["id"])
    task = expect("read task", call(base, "GET", f"/tasks/{task_id}", token=token), 200)
    print(f"          {task['title']!r} priority={task['priority']} status={task['status']}")
    if str(task["id"]) != task_id:
        raise SmokeError(f"read task: asked for {task_id}, got {task['id']}")
    listed = call(base, "GET", "/tasks", token=token)
    page = expect("list tasks", listed, 200, "next_cursor={body[next_cursor]}")
    if task_id not in {str(t["id"]) for t in page["tasks"]}:
        raise SmokeError(f"list tasks: task {task_id} is not on the first page")
    print(f"task {task_id}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("email")
    parser.add_argument("password")
    parser.add_argument("--task", help="read this task instead of registering and creating one")
    args = parser.parse_args()
    try:
        smoke(args.url.rstrip("/"), args.email, args.password, args.task)
    except (SmokeError, OSError, KeyError, ValueError) as error:
        print(f"smoke test failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
