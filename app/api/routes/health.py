from fastapi import APIRouter, Request
from starlette.responses import Response

from app.api.responses import API_PREFIX, model_response
from app.domain.errors import ServiceUnavailable
from generated import models as api

router = APIRouter(prefix=API_PREFIX, tags=["health"])


@router.get("/health")
async def get_health(request: Request) -> Response:
    if not await request.app.state.database.ping():
        raise ServiceUnavailable("The database is unreachable.", retry_after=5)
    return model_response(
        api.Health(status=api.Status.ok, version=request.app.version, database=api.Database.ok)
    )
