"""Routes, and how an endpoint's signature declares its input.

Every endpoint parameter is `Annotated[T, parse]`, where `parse(request)` is an async function
that returns the T (app.api.deps has them all: who may call, the database, the body, the query,
the path and the headers). The parsers run in the order the parameters are declared, so an
endpoint that declares who may call it first refuses a bad token before reading any input.

This is FastAPI's dependency injection, cut down to what the endpoints use: FastAPI spends ~8 µs
solving each dependency of each request, a third of a GET /tasks/{id} served in-process
(docs/performance.md). An app's `dependency_overrides` apply to the parsers as they do to
dependencies: an override is a parser too, a function of the request.
"""

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from fastapi import FastAPI, Request
from starlette.responses import Response

Parser = Callable[[Request], Awaitable[Any]]
Endpoint = Callable[..., Awaitable[Response]]


async def parsed(request: Request, parse: Parser) -> Any:
    """`parse(request)`, or what the app's `dependency_overrides` put in its place."""
    parse = request.app.dependency_overrides.get(parse, parse)
    return await parse(request)


def _parsers(function: Endpoint) -> list[tuple[str, Parser | None]]:
    """Each parameter's name and parser (None: the request itself)."""
    hints = get_type_hints(function, include_extras=True)
    parsers: list[tuple[str, Parser | None]] = []
    for name in inspect.signature(function).parameters:
        hint = hints[name]
        if hint is Request:
            parsers.append((name, None))
            continue
        if get_origin(hint) is not Annotated:
            raise TypeError(f"{function.__name__}({name}): declare it as Annotated[T, parser]")
        parsers.append((name, get_args(hint)[1]))
    return parsers


def endpoint(function: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """`function` as an endpoint that takes the request and parses its parameters from it."""
    parsers = _parsers(function)

    async def serve(request: Request) -> Response:
        values = {
            name: request if parse is None else await parsed(request, parse)
            for name, parse in parsers
        }
        return await function(**values)

    # Not functools.wraps: FastAPI would read the wrapped function's parameters.
    serve.__name__ = serve.__qualname__ = function.__name__
    serve.__module__ = function.__module__
    serve.__doc__ = function.__doc__
    return serve


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    endpoint: Callable[[Request], Awaitable[Response]]


@dataclass
class Router:
    """Routes under `prefix`, each declared with the decorator of its method."""

    prefix: str
    tags: list[str] = field(default_factory=list)
    include_in_schema: bool = True
    routes: list[Route] = field(default_factory=list)

    def _route(self, method: str, path: str) -> Callable[[Endpoint], Endpoint]:
        def register(function: Endpoint) -> Endpoint:
            self.routes.append(Route(method, self.prefix + path, endpoint(function)))
            return function

        return register

    def get(self, path: str) -> Callable[[Endpoint], Endpoint]:
        return self._route("GET", path)

    def post(self, path: str) -> Callable[[Endpoint], Endpoint]:
        return self._route("POST", path)

    def put(self, path: str) -> Callable[[Endpoint], Endpoint]:
        return self._route("PUT", path)

    def patch(self, path: str) -> Callable[[Endpoint], Endpoint]:
        return self._route("PATCH", path)

    def delete(self, path: str) -> Callable[[Endpoint], Endpoint]:
        return self._route("DELETE", path)


def add_routes(app: FastAPI, router: Router) -> None:
    """Each of `router`'s routes in the app's own route table (the order they were declared).

    Not `include_router`: FastAPI 0.137 and later keep an included router as one entry and match
    its routes twice per request (to choose the router, then the route), 10 % of a GET
    /tasks/{id}'s instructions."""
    for route in router.routes:
        app.add_api_route(
            route.path,
            route.endpoint,
            methods=[route.method],
            name=route.endpoint.__name__,
            tags=list(router.tags),
            include_in_schema=router.include_in_schema,
        )
