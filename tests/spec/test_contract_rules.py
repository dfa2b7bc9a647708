"""The house rules of openapi/openapi.yaml, checked on every run so an edit cannot break them."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate

from app.api.contract import load_contract, operations, resolve

CONTRACT = load_contract()
Operation = tuple[str, str, dict[str, Any]]


OPERATIONS = [(path, method, op) for method, path, op in operations()]
IDS = [op["operationId"] for _, _, op in OPERATIONS]


def parameters(path: str, operation: dict[str, Any]) -> list[dict[str, Any]]:
    shared = CONTRACT["paths"][path].get("parameters", [])
    return [resolve(p) for p in [*shared, *operation.get("parameters", [])]]


def test_is_valid_openapi_3_1() -> None:
    validate(CONTRACT)
    assert CONTRACT["openapi"].startswith("3.1.")


def test_info_and_servers() -> None:
    info = CONTRACT["info"]
    assert {"title", "description", "version", "contact", "license"} <= info.keys()
    assert re.fullmatch(r"\d+\.\d+\.\d+", info["version"])
    assert CONTRACT["servers"] == [{"url": "/api/v1", "description": "This server"}]
    assert all(tag.get("description") for tag in CONTRACT["tags"])


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
class TestEveryOperation:
    def test_is_described(self, path: str, method: str, operation: dict[str, Any]) -> None:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", operation["operationId"])
        assert operation["summary"] and operation["description"] and operation["tags"]
        assert "security" in operation, "security must be explicit, even when public"

    def test_documents_every_status_with_schema_example_and_request_id(
        self, path: str, method: str, operation: dict[str, Any]
    ) -> None:
        for status, response in operation["responses"].items():
            response = resolve(response)
            assert "X-Request-ID" in response.get("headers", {}), status
            if status in {"204", "304"}:
                assert "content" not in response
                continue
            for media_type, content in response["content"].items():
                assert "schema" in content, (status, media_type)
                assert "example" in content or "examples" in content, (status, media_type)
                if int(status) >= 400:
                    assert media_type == "application/problem+json"
                    assert content["schema"] == {"$ref": "#/components/schemas/Problem"}

    def test_documents_the_errors_it_can_return(
        self, path: str, method: str, operation: dict[str, Any]
    ) -> None:
        statuses = operation["responses"].keys()
        params = parameters(path, operation)
        if operation["security"]:
            assert "401" in statuses
        if any(p["in"] == "path" for p in params):
            assert "404" in statuses
        if params or "requestBody" in operation:
            assert "422" in statuses
        if "requestBody" in operation:
            assert "413" in statuses
        if "429" in statuses:
            assert "Retry-After" in resolve(operation["responses"]["429"])["headers"]
        # Writes may find SQLite's write lock held by another process for too long (app.core.db);
        # the token endpoints read in their transaction.
        readers = {"login", "issue_token", "refresh_tokens"}
        if method != "get" and operation["operationId"] not in readers:
            assert "503" in statuses

    def test_security_is_bearer_or_oauth2(
        self, path: str, method: str, operation: dict[str, Any]
    ) -> None:
        assert operation["security"] in ([], [{"bearerAuth": []}, {"oauth2": []}])


def test_security_schemes() -> None:
    schemes = CONTRACT["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["bearerAuth"]["description"],
    }
    assert schemes["oauth2"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"


def _schemas_in(node: Any) -> Iterator[dict[str, Any]]:
    node = resolve(node)
    if isinstance(node, dict):
        yield node
        for key in ("properties",):
            for child in node.get(key, {}).values():
                yield from _schemas_in(child)
        for key in ("items",):
            if key in node:
                yield from _schemas_in(node[key])


def request_body_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    for _, _, operation in OPERATIONS:
        if "requestBody" in operation:
            for content in operation["requestBody"]["content"].values():
                yield operation["operationId"], resolve(content["schema"])


@pytest.mark.parametrize(("operation_id", "schema"), list(request_body_schemas()))
def test_request_bodies_reject_unknown_properties_and_bound_strings(
    operation_id: str, schema: dict[str, Any]
) -> None:
    if operation_id != "issue_token":  # OAuth2 forms may carry extra parameters
        assert schema["additionalProperties"] is False
    for node in _schemas_in(schema):
        types = node.get("type")
        is_string = types == "string" or (isinstance(types, list) and "string" in types)
        if is_string and "enum" not in node and node.get("format") != "date-time":
            assert "maxLength" in node, node


def test_ids_are_uuids_and_times_are_date_times() -> None:
    schemas = CONTRACT["components"]["schemas"]
    for name in ("User", "Task"):
        properties = schemas[name]["properties"]
        assert properties["id"]["format"] == "uuid"
        assert properties["created_at"]["format"] == "date-time"
        assert properties["updated_at"]["format"] == "date-time"
    for name in ("TaskId", "UserId"):
        assert CONTRACT["components"]["parameters"][name]["schema"]["format"] == "uuid"


def test_every_schema_has_an_example() -> None:
    for name, schema in CONTRACT["components"]["schemas"].items():
        assert schema.get("examples"), name


def test_problem_schema() -> None:
    problem = CONTRACT["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == {
        "type", "title", "status", "detail", "instance", "request_id", "errors",
    }  # fmt: skip
    field_error = resolve(problem["properties"]["errors"]["items"])
    assert set(field_error["required"]) == {"loc", "msg", "type"}


def test_links_let_stateful_testing_chain_calls() -> None:
    by_id = {op["operationId"]: op for _, _, op in OPERATIONS}

    def links(operation_id: str, status: str) -> dict[str, Any]:
        response = resolve(by_id[operation_id]["responses"][status])
        found: dict[str, Any] = response["links"]
        return found

    created = links("create_task", "201")
    assert {link["operationId"] for link in created.values()} == {
        "get_task", "replace_task", "update_task", "delete_task",
    }  # fmt: skip
    for link in created.values():
        assert link["parameters"]["task_id"] == "$response.body#/id"
    conditional = [link for link in created.values() if len(link["parameters"]) > 1]
    assert {tuple(sorted(link["parameters"])) for link in conditional} == {
        ("header.If-None-Match", "task_id"), ("header.If-Match", "task_id"),
    }  # fmt: skip
    registered = links("register", "201")
    assert sorted(link["operationId"] for link in registered.values()) == ["issue_token", "login"]
    for operation_id in ("login", "issue_token", "refresh_tokens"):
        (refresh,) = links(operation_id, "200").values()
        assert refresh["requestBody"] == {"refresh_token": "$response.body#/refresh_token"}


def test_no_unused_components() -> None:
    text = repr(CONTRACT)
    for section in ("schemas", "responses", "parameters", "headers", "examples"):
        for name in CONTRACT["components"][section]:
            assert f"#/components/{section}/{name}'" in text, f"{section}/{name} is unused"
