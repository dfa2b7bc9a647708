"""Domain errors. Each carries its HTTP status; one handler renders them all as problem+json."""

from collections.abc import Mapping
from http import HTTPStatus


class DomainError(Exception):
    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    headers: Mapping[str, str] = {}

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(DomainError):
    status = HTTPStatus.BAD_REQUEST


class Unauthorized(DomainError):
    status = HTTPStatus.UNAUTHORIZED
    headers = {"WWW-Authenticate": "Bearer"}

    def __init__(self, detail: str = "Could not validate credentials.") -> None:
        super().__init__(detail)


class Forbidden(DomainError):
    status = HTTPStatus.FORBIDDEN


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND


class Conflict(DomainError):
    status = HTTPStatus.CONFLICT


class PreconditionFailed(DomainError):
    status = HTTPStatus.PRECONDITION_FAILED

    def __init__(self, detail: str, *, etag: str | None = None) -> None:
        super().__init__(detail)
        if etag is not None:
            self.headers = {"ETag": etag}


class UnprocessableContent(DomainError):
    """A request that passed schema validation but cannot be processed as sent."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY


class ServiceUnavailable(DomainError):
    status = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class RequestTimeout(DomainError):
    """The request body stopped arriving: the connection is closed after the answer, as the
    rest of the body may still come."""

    status = HTTPStatus.REQUEST_TIMEOUT
    headers = {"Connection": "close"}


class PayloadTooLarge(DomainError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class TooManyRequests(DomainError):
    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, detail: str, *, headers: Mapping[str, str]) -> None:
        super().__init__(detail)
        self.headers = headers
