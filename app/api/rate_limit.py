"""Rate limits with the `limits` library: per client address on the auth endpoints (and per email
on login), per user everywhere else. Budgets live in memory, or in Redis when REDIS_URL is set so
that every server process shares them.

The strategy is the sliding-window counter: two counters per budget, so a request costs the same
whatever the budget (a moving window keeps a timestamp per request in the window).

A limiter is a guard, not something the API cannot serve without: when Redis fails or takes
longer than RATE_LIMIT_TIMEOUT_MS, the request is served unlimited (RATE_LIMIT_FAIL_OPEN, the
default) or refused with a 503 (fail closed). Either way the failure is counted in the metrics
and logged at WARNING when it begins; each request tries Redis again, so the limiter recovers on
its own when Redis is back.

Each limited request records its budget in the request state; ResponseHeadersMiddleware turns it
into `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers.
"""

import asyncio
import logging
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from limits.util import WindowStats

from app.api.middleware.access_log import Metrics
from app.core.config import Settings
from app.domain.errors import ServiceUnavailable, TooManyRequests

logger = logging.getLogger(__name__)
T = TypeVar("T")

STATE_KEY = "rate_limit"
STORE_RETRY_AFTER_S = 5  # the Retry-After of a request refused because Redis failed


@dataclass(frozen=True, slots=True)
class Budget:
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


class RateLimiter:
    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        # Memory answers at once: only Redis's round trips are bounded (the timer is a visible
        # share of the limiter's time).
        self._timeout_s: float | None = None
        storage: Storage
        if settings.REDIS_URL:
            self._timeout_s = settings.RATE_LIMIT_TIMEOUT_MS / 1000
            storage = RedisStorage(
                f"async+{settings.REDIS_URL}",
                wrap_exceptions=True,
                key_prefix=settings.RATE_LIMIT_KEY_PREFIX,
                connect_timeout=self._timeout_s,
                stream_timeout=self._timeout_s,
            )
        else:
            storage = MemoryStorage()
        self._storage = storage
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._fail_open = settings.RATE_LIMIT_FAIL_OPEN
        self._metrics = metrics
        self._store_failing = False
        self.shared = settings.REDIS_URL is not None
        self.login = parse(settings.RATE_LIMIT_LOGIN)
        self.default = parse(settings.RATE_LIMIT_DEFAULT)

    async def hit(self, request: Request, item: RateLimitItem, *key: str) -> None:
        """Spend one request of `key`'s budget; TooManyRequests when it is exhausted."""
        try:
            allowed, stats = await self._in_time(self._hit(item, *key))
        except (StorageError, TimeoutError) as exc:
            self._store_failed(exc)
            if self._fail_open:
                return
            raise ServiceUnavailable(
                "Rate limiting is unavailable; try again shortly.", retry_after=STORE_RETRY_AFTER_S
            ) from exc
        self._store_answered()
        budget = Budget(
            limit=item.amount,
            remaining=stats.remaining,
            reset_seconds=max(0, math.ceil(stats.reset_time - time.time())),
        )
        if not allowed:
            retry_after = max(1, budget.reset_seconds)
            raise TooManyRequests(
                f"Rate limit exceeded; retry in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after), **budget.headers()},
            )
        # With several budgets on one request (address and email), report the tightest.
        current: Budget | None = getattr(request.state, STATE_KEY, None)
        if current is None or budget.remaining < current.remaining:
            setattr(request.state, STATE_KEY, budget)

    async def _hit(self, item: RateLimitItem, *key: str) -> tuple[bool, WindowStats]:
        allowed = await self._limiter.hit(item, *key)
        return allowed, await self._limiter.get_window_stats(item, *key)

    async def store_answers(self) -> bool:
        """Whether the budgets' store (Redis) answers a ping within the timeout."""
        try:
            answered = await self._in_time(self._storage.check())
        except (StorageError, TimeoutError) as exc:
            self._store_failed(exc)
            return False
        if answered:
            self._store_answered()
        return answered

    async def _in_time(self, call: Awaitable[T]) -> T:
        async with asyncio.timeout(self._timeout_s):
            return await call

    def _store_failed(self, exc: Exception) -> None:
        if self._metrics is not None:
            self._metrics.rate_limit_store_failures.inc()
        if not self._store_failing:
            self._store_failing = True
            action = "served without limits" if self._fail_open else "refused with 503"
            logger.warning("Redis failed (%r): rate-limited requests are %s", exc, action)

    def _store_answered(self) -> None:
        if self._store_failing:
            self._store_failing = False
            logger.warning("Redis answers again: rate limits apply")


def client_address(request: Request) -> str:
    """The socket's peer, or the proxy's X-Forwarded-For when uvicorn is told to trust it
    (--forwarded-allow-ips): uvicorn rewrites the client address, never this code."""
    return request.client.host if request.client else "unknown"


def _limiter(request: Request) -> RateLimiter | None:
    limiter: RateLimiter | None = request.app.state.rate_limiter
    return limiter


async def limit_auth_by_client(request: Request) -> None:
    """The budget of the auth endpoints (register, login, token, refresh) per client address."""
    if limiter := _limiter(request):
        await limiter.hit(request, limiter.login, "auth-client", client_address(request))


async def limit_login_by_email(request: Request, email: str) -> None:
    """A second login budget per target email, so rotating addresses does not help a guesser."""
    if limiter := _limiter(request):
        await limiter.hit(request, limiter.login, "login-email", email.lower())


async def limit_user(request: Request, user_id: str) -> None:
    if limiter := _limiter(request):
        await limiter.hit(request, limiter.default, "user", user_id)
