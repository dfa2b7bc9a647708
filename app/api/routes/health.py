from fastapi import Request
from starlette.responses import Response

from app.api.deps import DatabaseDep
from app.api.responses import API_PREFIX, model_response
from app.api.routing import Router
from app.domain.errors import ServiceUnavailable
from generated import models as api

router = Router(prefix=API_PREFIX, tags=["health"])


@router.get("/health")
async def get_health(request: Request, database: DatabaseDep) -> Response:
    if not await database.ping():
        raise ServiceUnavailable("The database is unreachable.", retry_after=5)
    return model_response(
        api.Health(status=api.Status.ok, version=request.app.version, database=api.Database.ok)
    )
