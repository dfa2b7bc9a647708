"""Input the database or the parser could choke on is a 4xx problem, never a 5xx.

Hypothesis puts hostile values (NUL and control characters, lone surrogates, NaN and Infinity,
integers beyond any column, dates outside the supported range, naive times, nulls, deep nesting)
into every field of every JSON request body and every query parameter of the contract.
"""

import json
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.contract import operations, resolve
from tests.conftest import API, Account, register

# Raw JSON fragments, so that values json.dumps cannot produce (NaN, lone surrogates) are sent too.
HOSTILE_JSON = st.one_of(
    st.sampled_from(
        [
            '"\\u0000"',
            '"a\\u0000b"',
            '"\\u0007\\u001b"',
            '"\\ud800"',
            '"\\udfff x"',
            "NaN",
            "Infinity",
            "-Infinity",
            "1e309",
            "null",
            "true",
            "[]",
            "{}",
            str(2**31),
            str(2**63),
            str(-(2**63) - 1),
            str(10**400),
            '"0001-01-01T00:00:00+01:00"',
            '"9999-12-31T23:59:59-01:00"',
            '"2026-01-01T00:00:00"',
            '"2026-02-30T00:00:00Z"',
            '"-0001-01-01T00:00:00Z"',
            '"' + "x" * 5000 + '"',
            "[" * 200 + "]" * 200,
        ]
    ),
    st.text().map(json.dumps),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
)
HOSTILE_QUERY = st.one_of(
    st.sampled_from(
        [
            "\x00",
            "%00",
            "\ud800",
            "NaN",
            "-1",
            "0",
            str(2**63),
            "1e400",
            "",
            "[]",
            "0001-01-01T00:00:00+01:00",
            "2026-01-01T00:00:00",
            "x" * 5000,
        ]
    ),
    st.text(),
)


def json_body_operations() -> list[tuple[str, str, str, dict[str, Any]]]:
    found = []
    for method, path, operation in operations():
        if operation["operationId"] == "change_password":
            continue  # change_password has its own test: a success revokes the shared token
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            schema = resolve(content["application/json"]["schema"])
            found.append((operation["operationId"], method, path, schema))
    return found


def query_operations() -> list[tuple[str, str, list[str]]]:
    found = []
    for _, path, operation in operations():
        parameters = [resolve(p) for p in operation.get("parameters", [])]
        names = [p["name"] for p in parameters if p["in"] == "query"]
        if names:
            found.append((operation["operationId"], path, names))
    return found


@pytest.fixture(scope="module")
def actors(client: TestClient) -> dict[str, Any]:
    """A user with a task, and an admin; made once (Hypothesis runs many examples per test)."""
    from tests.conftest import make_admin

    user = register(client)
    task = client.post(f"{API}/tasks", json={"title": "target"}, headers=user.headers).json()
    admin = make_admin(client)
    return {"user": user, "admin": admin, "task_id": task["id"]}


def concrete(path: str, actors: dict[str, Any]) -> tuple[str, Account]:
    account: Account = actors["admin"] if path.startswith("/users/{") else actors["user"]
    if path == "/users":
        account = actors["admin"]
    filled = path.replace("{task_id}", actors["task_id"]).replace("{user_id}", actors["user"].id)
    return API + filled, account


def assert_no_server_error(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """Keep the module's users and task across examples (overrides the per-test wipe)."""


HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize(
    ("operation_id", "method", "path", "schema"), json_body_operations(),
    ids=[op[0] for op in json_body_operations()],
)  # fmt: skip
@HYPOTHESIS
@given(data=st.data())
def test_hostile_json_fields_never_cause_a_server_error(
    client: TestClient,
    actors: dict[str, Any],
    operation_id: str,
    method: str,
    path: str,
    schema: dict[str, Any],
    data: st.DataObject,
) -> None:
    example: dict[str, Any] = dict(schema["examples"][0])
    field = data.draw(st.sampled_from(sorted(schema["properties"])), label="field")
    example.pop(field, None)
    fragment = data.draw(HOSTILE_JSON, label="value")
    rest = json.dumps(example)[1:-1]
    body = "{" + (rest + ", " if rest else "") + json.dumps(field) + ": " + fragment + "}"
    url, account = concrete(path, actors)
    response = client.request(
        method.upper(),
        url,
        content=body.encode("utf-8", "surrogatepass"),
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert_no_server_error(response)


@HYPOTHESIS
@given(fragment=HOSTILE_JSON)
def test_hostile_password_change_never_causes_a_server_error(
    client: TestClient, fragment: str
) -> None:
    account = register(client)
    body = '{"current_password": "correct-horse-battery", "new_password": ' + fragment + "}"
    response = client.put(
        f"{API}/users/me/password",
        content=body.encode("utf-8", "surrogatepass"),
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert_no_server_error(response)


@pytest.mark.parametrize(
    ("operation_id", "path", "names"), query_operations(), ids=[op[0] for op in query_operations()]
)
@HYPOTHESIS
@given(data=st.data())
def test_hostile_query_parameters_never_cause_a_server_error(
    client: TestClient,
    actors: dict[str, Any],
    operation_id: str,
    path: str,
    names: list[str],
    data: st.DataObject,
) -> None:
    name = data.draw(st.sampled_from(names), label="parameter")
    value = data.draw(HOSTILE_QUERY, label="value")
    url, account = concrete(path, actors)
    encoded = quote(value.encode("utf-8", "surrogatepass"), safe="")
    response = client.get(f"{url}?{name}={encoded}", headers=account.headers)
    assert_no_server_error(response)
