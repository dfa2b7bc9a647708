"""One error shape for everything: RFC 9457 problem+json, rendered by the handlers here.

Domain errors, request validation, HTTP errors from routing (404, 405) and unexpected exceptions
all come out as `generated.models.Problem`. A 500 never carries the exception's text.
"""

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from app.api.contract import allowed_methods
from app.api.deps import CLAIMS_KEY
from app.api.middleware.request_id import REQUEST_ID_HEADER
from app.domain.errors import DomainError
from app.services import auth as auth_service
from generated.models import FieldError, Problem

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[FieldError] | None = None,
) -> Response:
    problem = Problem(
        type="about:blank",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        # Percent-encoded, so that it is a valid URI reference whatever the path holds.
        instance=quote(request.url.path),
        request_id=request.state.request_id,
    )
    if errors is not None:
        problem.errors = errors
    # Set here too: a 500 is rendered outside the middleware that adds it to other responses.
    headers = {**(headers or {}), REQUEST_ID_HEADER: request.state.request_id}
    return Response(
        problem.model_dump_json(),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    return [
        FieldError(
            loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            msg=str(e.get("msg", "Invalid value")),
            type=str(e.get("type", "value_error")),
        )
        for e in errors
    ]


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if exc.status == HTTPStatus.UNPROCESSABLE_ENTITY and (refused := await _token_refused(request)):
        return refused
    return problem_response(request, exc.status, exc.detail, headers=exc.headers)


async def _token_refused(request: Request) -> Response | None:
    """The 401 (or 503) for a request refused for its input whose token is no longer current:
    who may call is decided before what they sent, on every route. Only refused input costs
    this statement: an endpoint whose work checks the token checks it there."""
    claims = getattr(request.state, CLAIMS_KEY, None)
    if claims is None:
        return None
    try:
        await auth_service.caller_for_claims(request.app.state.database.read, claims)
    except DomainError as refused:  # revoked (401), or a database that cannot tell (503)
        return problem_response(request, refused.status, refused.detail, headers=refused.headers)
    return None


async def _validation_error(request: Request, exc: Exception) -> Response:
    """422, unless the request came with a token that is no longer current (`_token_refused`)."""
    assert isinstance(exc, RequestValidationError)
    if refused := await _token_refused(request):
        return refused
    return problem_response(
        request,
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "The request is invalid.",
        errors=field_errors(exc.errors()),
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        # Starlette names only the first route's methods when a path has several routes.
        headers["Allow"] = allowed_methods(request.url.path) or headers.get("Allow", "")
    status = HTTPStatus(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else status.phrase
    return problem_response(request, exc.status_code, detail, headers=headers)


async def _client_disconnected(request: Request, exc: Exception) -> Response:
    """The client went away while sending its body: nobody will read an answer, nothing failed."""
    logger.info("client disconnected before sending the whole body")
    return problem_response(request, HTTPStatus.BAD_REQUEST, "The client disconnected.")


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    """The server closes the connection after an unhandled error (Starlette raises it again
    once this answer is sent, and uvicorn then closes), so the answer says so: a client never
    sends its next request on a connection that is going away."""
    logger.exception("unhandled error", exc_info=exc)
    return problem_response(
        request,
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "An unexpected error occurred.",
        headers={"Connection": "close"},
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_disconnected)
    app.add_exception_handler(Exception, _unexpected_error)
