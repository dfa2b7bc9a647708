from fastapi import Request
from starlette.responses import Response

from app.api.deps import DatabaseDep
from app.api.rate_limit import RateLimiter
from app.api.responses import API_PREFIX, model_response
from app.api.routing import Router
from app.domain.errors import ServiceUnavailable
from generated import models as api

router = Router(prefix=API_PREFIX, tags=["health"])


@router.get("/health")
async def get_health(request: Request, database: DatabaseDep) -> Response:
    """503 without the database; 200 `degraded` when only Redis is out, as requests are still
    answered then (app.api.rate_limit)."""
    if not await database.ping():
        raise ServiceUnavailable("The database is unreachable.", retry_after=5)
    health = api.Health(status=api.Status.ok, version=request.app.version, database=api.Database.ok)
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is not None and limiter.shared:
        if await limiter.store_answers():
            health.redis = api.Redis.ok
        else:
            health.redis = api.Redis.unavailable
            health.status = api.Status.degraded
    return model_response(health)
