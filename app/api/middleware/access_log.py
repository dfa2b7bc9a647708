"""One access-log line per request (method, path template, status, duration, request id, user
id), and Prometheus metrics when they are enabled."""

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import Scope

from app.api.contract import path_template

logger = logging.getLogger("app.access")

USER_ID_KEY = "user_id"


# prometheus_client's own switch, read when it is imported: with several worker processes, each
# writes its values to files in this directory, which must be empty when the server starts.
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def worker_files(directory: str) -> list[str]:
    """The files in which worker processes keep their values, less any still empty: a worker
    creates its file and sizes it afterwards, and prometheus_client fails the whole scrape on a
    file read in between, or left so by a worker killed then (prometheus/client_python#1199)."""
    return [str(path) for path in Path(directory).glob("*.db") if path.stat().st_size]


class _WorkerFilesCollector(MultiProcessCollector):
    """prometheus_client's sum over the worker processes' files, over `worker_files` only."""

    def collect(self) -> Iterable[Metric]:
        return self.merge(worker_files(self._path), accumulate=True)  # type: ignore[no-any-return,no-untyped-call]


class Metrics:
    """Request counts and latencies by method, route template and status; rate-limit store
    (Redis) failures."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = Counter("http_requests", "Requests served.", labels, registry=self.registry)
        self.latency = Histogram(
            "http_request_duration_seconds", "Time to serve a request.", labels,
            registry=self.registry,
        )  # fmt: skip
        self.rate_limit_store_failures = Counter(
            "rate_limit_store_failures",
            "Rate-limited requests for which Redis failed or answered too late.",
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)

    def exposition(self) -> bytes:
        """Prometheus' text format. With PROMETHEUS_MULTIPROC_DIR set, the sum over every
        worker process's files, so that whichever worker answers reports the whole server."""
        if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
            registry = CollectorRegistry()
            _WorkerFilesCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


def record(scope: Scope, status: int, seconds: float, metrics: Metrics | None) -> None:
    """Log the request and count it. The route template is looked up only when it is used: at
    LOG_LEVEL=WARNING without metrics, nothing here costs more than a level check."""
    logging_it = logger.isEnabledFor(logging.INFO)
    if not logging_it and metrics is None:
        return
    route = path_template(scope["path"]) or "other"
    if logging_it:
        logger.info(
            "request",
            extra={
                "method": scope["method"],
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "user_id": scope["state"].get(USER_ID_KEY),
            },
        )
    if metrics is not None:
        metrics.observe(scope["method"], route, status, seconds)
