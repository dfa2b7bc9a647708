"""Putting the routers' routes into an app."""

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """Each of `router`'s routes, made again for `app`, in the app's own route table.

    Not `include_router`: FastAPI 0.137 and later keep an included router as one entry and match
    its routes twice per request (to choose the router, then the route), 10 % of a GET
    /tasks/{id}'s instructions. Made again rather than shared: a route honours the
    `dependency_overrides` of the app it was made for. What a route carries over is what the
    routers set: path (with the router's prefix), methods, name, tags, dependencies, and
    whether it is in the schema."""
    for route in router.routes:
        assert isinstance(route, APIRoute), route
        app.add_api_route(
            route.path,
            route.endpoint,
            methods=sorted(route.methods or ()),
            name=route.name,
            tags=list(route.tags),
            dependencies=route.dependencies,
            include_in_schema=route.include_in_schema,
        )
