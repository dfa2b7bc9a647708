"""The server and its contract agree on what exists: routes, the served document, the docs."""

import json
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from app.api.contract import CONTRACT_PATH, load_contract, operations
from tests.conftest import API, app_of


def contract_operations() -> set[tuple[str, str, str]]:
    prefix = load_contract()["servers"][0]["url"]
    return {
        (method.upper(), prefix + path, operation["operationId"])
        for method, path, operation in operations()
    }


def test_route_table_equals_the_contract_both_ways(client: TestClient) -> None:
    # FastAPI's own view of the routes (docs and openapi.json are excluded from it), with route
    # names as operationIds.
    served = app_of(client).openapi()
    routes = {
        (method.upper(), path, operation["operationId"])
        for path, item in served["paths"].items()
        for method, operation in item.items()
    }
    assert routes == contract_operations()


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
