"""Responses built from the generated models, serialised once (no second validation pass)."""

from collections.abc import Mapping

from pydantic import BaseModel
from starlette.responses import Response

API_PREFIX = "/api/v1"


def model_response(
    model: BaseModel, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return json_response(model.model_dump_json(), status=status, headers=headers)


def json_response(
    body: str, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A response of JSON a generated model has already serialised."""
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def no_content() -> Response:
    return Response(status_code=204)
