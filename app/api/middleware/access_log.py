"""One access-log line per request (method, path template, status, duration, request id, user
id), the X-Process-Time header, and Prometheus metrics when they are enabled."""

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.contract import path_template

logger = logging.getLogger("app.access")

USER_ID_KEY = "user_id"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = Counter("http_requests", "Requests served.", labels, registry=self.registry)
        self.latency = Histogram(
            "http_request_duration_seconds", "Time to serve a request.", labels,
            registry=self.registry,
        )  # fmt: skip

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_with_timing(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                elapsed = time.perf_counter() - start
                MutableHeaders(scope=message)["X-Process-Time"] = f"{elapsed:.6f}"
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            elapsed = time.perf_counter() - start
            route = path_template(scope["path"]) or "other"
            state = scope.get("state", {})
            logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                    "user_id": state.get(USER_ID_KEY),
                },
            )
            if self.metrics is not None:
                self.metrics.observe(scope["method"], route, status, elapsed)
