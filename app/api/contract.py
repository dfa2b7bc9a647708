"""The served contract and the docs pages. The JSON at /api/v1/openapi.json is the hand-written
YAML itself, not FastAPI's reconstruction; the docs pages load their assets from an installed
package, so they work without internet access."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastapi_offline
import yaml
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from app.api.responses import API_PREFIX
from app.api.routing import Router, add_routes

CONTRACT_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.yaml"
STATIC_DIR = Path(fastapi_offline.__file__).parent / "static"
OPENAPI_URL = f"{API_PREFIX}/openapi.json"
STATIC_URL = f"{API_PREFIX}/docs/static"
OAUTH2_REDIRECT_URL = f"{API_PREFIX}/docs/oauth2-redirect"


class _JsonCompatibleLoader(yaml.SafeLoader):
    """YAML 1.1 reads an unquoted `2026-01-01T00:00:00Z` as a datetime, which JSON cannot hold:
    keep such scalars as the strings they are in JSON Schema."""


_JsonCompatibleLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@cache
def load_contract() -> dict[str, Any]:
    with CONTRACT_PATH.open(encoding="utf-8") as file:
        contract: dict[str, Any] = yaml.load(file, Loader=_JsonCompatibleLoader)  # noqa: S506
    return contract


@cache
def _contract_json() -> bytes:
    return json.dumps(load_contract(), ensure_ascii=False).encode("utf-8")


HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) for every operation of the contract, paths without the prefix."""
    for path, item in load_contract()["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


def resolve(node: Any) -> Any:
    """Follow local `$ref`s until `node` is the thing itself."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = load_contract()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def api_path(path: str) -> str:
    """A contract path with the server's prefix: the path a route is declared at."""
    prefix: str = load_contract()["servers"][0]["url"]
    return prefix + path


def missing_route(method: str, path: str, operation: dict[str, Any]) -> str:
    """What to do about a contract operation that no route serves."""
    name = operation["operationId"]
    module = f"app/api/routes/{operation['tags'][0]}.py"
    return (
        f"contract operation without a route: {method.upper()} {api_path(path)} ({name}): "
        f"add `{name}` to {module}"
    )


def unknown_route(method: str, path: str, name: str, module: str) -> str:
    """What to do about a route that serves no contract operation."""
    where = module.replace(".", "/") + ".py"
    return (
        f"route without a contract operation: {method.upper()} {path} ({name} in {where}): "
        f"add `{name}` to openapi/openapi.yaml, or remove the route"
    )


@dataclass(frozen=True, slots=True)
class _PathEntry:
    regex: re.Pattern[str]
    template: str
    methods: str


@cache
def _paths() -> list[_PathEntry]:
    contract = load_contract()
    prefix = contract["servers"][0]["url"]
    table = []
    for template, item in contract["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(prefix + template))
        methods = ", ".join(sorted(m.upper() for m in item if m in HTTP_METHODS))
        table.append(_PathEntry(re.compile(pattern), prefix + template, methods))
    return table


def _entry(path: str) -> _PathEntry | None:
    return next((entry for entry in _paths() if entry.regex.fullmatch(path)), None)


def allowed_methods(path: str) -> str | None:
    """The `Allow` header for a path of the contract: every method it documents."""
    entry = _entry(path)
    return entry.methods if entry else None


def path_template(path: str) -> str | None:
    """The contract's template for a concrete path (`/api/v1/tasks/{task_id}`), for logs and
    metrics whose labels must not grow with every id."""
    entry = _entry(path)
    return entry.template if entry else None


router = Router(prefix=API_PREFIX, include_in_schema=False)


@router.get("/openapi.json")
async def openapi_document() -> Response:
    return Response(_contract_json(), media_type="application/json")


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"{load_contract()['info']['title']} - Swagger UI",
        swagger_js_url=f"{STATIC_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC_URL}/swagger-ui.css",
        swagger_favicon_url=f"{STATIC_URL}/favicon.png",
        oauth2_redirect_url=OAUTH2_REDIRECT_URL,
    )


@router.get("/docs/oauth2-redirect")
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return get_redoc_html(
        openapi_url=OPENAPI_URL,
        title=f"{load_contract()['info']['title']} - ReDoc",
        redoc_js_url=f"{STATIC_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{STATIC_URL}/favicon.png",
        with_google_fonts=False,
    )


def install_contract(app: FastAPI) -> None:
    add_routes(app, router)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="docs-static")
