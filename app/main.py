"""The application factory: settings, database, middleware, error handlers, routes, contract."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.contract import install_contract, load_contract
from app.api.cursors import CursorCodec
from app.api.middleware.access_log import Metrics
from app.api.middleware.cross_origin import CrossOriginMiddleware
from app.api.middleware.envelope import EnvelopeMiddleware
from app.api.middleware.request_body import RequestBodyMiddleware
from app.api.problems import install_problem_handlers
from app.api.rate_limit import RateLimiter
from app.api.routes import auth, health, tasks, users
from app.api.routing import Router, add_routes
from app.core.config import Environment, Settings, get_settings
from app.core.db import Database
from app.core.logging import configure_logging
from app.core.migrations import upgrade_to_head
from app.core.security import PasswordHasher, TokenCodec
from app.services import users as users_service


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(level=settings.LOG_LEVEL, json_format=settings.LOG_FORMAT == "json")
    metrics = Metrics() if settings.METRICS_ENABLED else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(upgrade_to_head, settings)
        database = Database.from_settings(settings)
        app.state.database = database
        app.state.hasher = PasswordHasher(settings)
        app.state.codec = TokenCodec(settings)
        app.state.cursors = CursorCodec(settings.secret_key)
        if settings.FIRST_ADMIN_EMAIL and settings.FIRST_ADMIN_PASSWORD:
            await users_service.ensure_admin(
                database,
                app.state.hasher,
                email=settings.FIRST_ADMIN_EMAIL,
                password=settings.FIRST_ADMIN_PASSWORD.get_secret_value(),
            )
        # What startup made lives as long as the process: keep it out of the garbage collector's
        # full passes, which otherwise walk all of it and stall requests (a busy worker's p99).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await database.dispose()

    info = load_contract()["info"]
    app = FastAPI(
        title=info["title"],
        version=info["version"],
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(settings, metrics) if settings.RATE_LIMIT_ENABLED else None
    install_problem_handlers(app)
    for router in (tasks.router, users.router, auth.router, health.router):  # busiest first
        add_routes(app, router)
    install_contract(app)
    if metrics is not None:
        install_metrics(app, metrics)
    # Added last is outermost: the request id exists before anything else runs.
    app.add_middleware(
        RequestBodyMiddleware,
        max_bytes=settings.MAX_BODY_BYTES,
        timeout_s=settings.REQUEST_BODY_TIMEOUT_S,
    )
    app.add_middleware(
        CrossOriginMiddleware,
        allow_origins=settings.ALLOWED_ORIGINS,
        allow_credentials="*" not in settings.ALLOWED_ORIGINS,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "If-Match",
            "If-None-Match",
            "Idempotency-Key",
            "X-Request-ID",
        ],
        expose_headers=[
            "ETag",
            "Location",
            "X-Request-ID",
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
        ],
    )
    app.add_middleware(
        EnvelopeMiddleware, hsts=settings.ENVIRONMENT is Environment.PRODUCTION, metrics=metrics
    )
    return app


def install_metrics(app: FastAPI, metrics: Metrics) -> None:
    """GET /metrics in Prometheus' text format; outside the API contract, off by default."""

    router = Router(prefix="", include_in_schema=False)

    @router.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    add_routes(app, router)


app = create_app()
