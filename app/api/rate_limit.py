"""Rate limits with the `limits` library: per client address on the auth endpoints (and per email
on login), per user everywhere else. Budgets live in memory, or in Redis when REDIS_URL is set so
that every server process shares them.

Each limited request records its budget in the request state; ResponseHeadersMiddleware turns it
into `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers.
"""

import math
import time
from dataclasses import dataclass

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from app.core.config import Settings
from app.domain.errors import TooManyRequests

STATE_KEY = "rate_limit"


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
    def __init__(self, settings: Settings) -> None:
        storage: Storage
        if settings.REDIS_URL:
            storage = RedisStorage(
                f"async+{settings.REDIS_URL}",
                key_prefix=settings.RATE_LIMIT_KEY_PREFIX,
            )
        else:
            storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(storage)
        self.login = parse(settings.RATE_LIMIT_LOGIN)
        self.default = parse(settings.RATE_LIMIT_DEFAULT)

    async def hit(self, request: Request, item: RateLimitItem, *key: str) -> None:
        """Spend one request of `key`'s budget; TooManyRequests when it is exhausted."""
        allowed = await self._limiter.hit(item, *key)
        stats = await self._limiter.get_window_stats(item, *key)
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
