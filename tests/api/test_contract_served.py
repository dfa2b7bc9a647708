"""The server and its contract agree on what exists: routes, the served document, the docs."""

import json
import uuid
from pathlib import Path

import yaml
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.responses import Response

from app.api.contract import CONTRACT_PATH, api_path, missing_route, operations, unknown_route
from app.api.deps import access_claims
from app.api.routing import Router, add_routes
from app.core.config import Settings
from app.core.security import TokenClaims
from app.domain.errors import Forbidden
from app.main import create_app
from tests.conftest import API, app_of, assert_problem


def mismatches(app: FastAPI) -> list[str]:
    """Every contract operation no route serves and every route no operation documents.

    Route names are operationIds (each endpoint function is named after its operation); the
    contract's own routes (the document and the docs) are outside the schema. Routes of a
    router included with `include_router` are not in the app's table (app/api/routing.py says
    why they should not be), so they would be reported missing here."""
    routes = {
        (method, route.path_format): route
        for route in app.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    found = []
    for method, path, operation in operations():
        route = routes.pop((method.upper(), api_path(path)), None)
        if route is None or route.name != operation["operationId"]:
            found.append(missing_route(method, path, operation))
            if route is not None:
                routes[(method.upper(), api_path(path))] = route
    for (method, path), route in routes.items():
        found.append(unknown_route(method, path, route.name, route.endpoint.__module__))
    return found


def test_route_table_equals_the_contract_both_ways(client: TestClient) -> None:
    assert mismatches(app_of(client)) == []


def test_a_mismatch_is_reported_by_name_with_what_to_do(settings: Settings) -> None:
    app = create_app(settings)
    [served] = [r for r in app.routes if isinstance(r, APIRoute) and r.name == "delete_task"]
    app.router.routes.remove(served)
    add_routes(app, _unknown)
    found = mismatches(app)
    assert (
        "contract operation without a route: DELETE /api/v1/tasks/{task_id} (delete_task): "
        "add `delete_task` to app/api/routes/tasks.py"
    ) in found
    assert (
        "route without a contract operation: POST /api/v1/tasks/{task_id}/archive "
        "(archive_task_nowhere_documented in tests/api/test_contract_served.py): "
        "add `archive_task_nowhere_documented` to openapi/openapi.yaml, or remove the route"
    ) in found


_unknown = Router(prefix=f"{API}/tasks")


@_unknown.post("/{task_id}/archive")
async def archive_task_nowhere_documented() -> Response:
    return Response(status_code=204)


def test_each_app_routes_with_its_own_dependency_overrides(settings: Settings) -> None:
    """The routes are made per app (app/api/routing.py): an override set on one app reaches
    its routes, every one of them, and not another app's."""

    async def refuse(request: Request) -> TokenClaims:
        raise Forbidden("overridden")

    overridden, other = create_app(settings), create_app(settings)
    overridden.dependency_overrides[access_claims] = refuse
    with TestClient(overridden) as client, TestClient(other) as other_client:
        for path in (f"{API}/users/me", f"{API}/tasks", f"{API}/tasks/{uuid.uuid4()}"):
            assert assert_problem(client.get(path), 403)["detail"] == "overridden"
            assert assert_problem(other_client.get(path), 401)["detail"] == "Not authenticated."


def test_served_document_is_the_yaml_file(client: TestClient) -> None:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    from_file = yaml.safe_load(Path(CONTRACT_PATH).read_text(encoding="utf-8"))
    # safe_load would turn unquoted timestamps into datetimes: the file must quote them.
    assert json.loads(json.dumps(from_file)) == from_file
    assert response.json() == from_file


def test_swagger_ui_works_without_internet(client: TestClient) -> None:
    page = client.get(f"{API}/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"{API}/docs/static/{asset}" in page.text
        assert client.get(f"{API}/docs/static/{asset}").status_code == 200
    assert client.get(f"{API}/docs/oauth2-redirect").status_code == 200


def test_redoc_works_without_internet(client: TestClient) -> None:
    page = client.get(f"{API}/redoc")
    assert page.status_code == 200
    assert "fonts.googleapis" not in page.text and "cdn" not in page.text.lower()
    assert f"{API}/docs/static/redoc.standalone.js" in page.text
    assert client.get(f"{API}/docs/static/redoc.standalone.js").status_code == 200
