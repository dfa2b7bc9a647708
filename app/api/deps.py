"""What an endpoint's signature declares (app.api.routing): who may call it (`AccessClaims`,
`CurrentCaller`, `CurrentUser`, `AdminCaller`), what it works with (`DatabaseDep`, `HasherDep`,
`CodecDep`, `CursorsDep`) and what it reads (`json_body`, `form_body`, `query_params`, the path
and header parsers), each an `Annotated` type whose parser takes the request. Every endpoint
declares who may call it first, so a bad token is refused before any input is read (and a
revoked one too: see `app.api.problems`).

Input is validated strictly against the generated models (FastAPI's lax mode would accept
`"priority": "1"`), so the server rejects exactly what the contract does. Two places where
pydantic and JSON Schema disagree are settled by what the contract declares: pydantic reads `"0"`
or `"2026-01-01 00:00Z"` as a date-time, which `format: date-time` (RFC 3339) does not, so those
fields are checked first (`_check_date_times`); and strict mode refuses `1034.0` for an integer,
which JSON Schema counts as one, so a body's integer fields take it (`_json_model`). Query and
header values are text, parsed leniently: `1034` and `1034.0` are integers there, `1034.5` not.
"""

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, TypeAdapter, ValidationError, create_model
from pydantic_core import from_json

from app.api.cursors import CursorCodec
from app.api.middleware.access_log import USER_ID_KEY
from app.api.rate_limit import limit_auth_by_client, limit_user
from app.api.routing import parsed
from app.core.db import Database
from app.core.security import PasswordHasher, TokenClaims, TokenCodec, TokenType
from app.domain.caller import Caller
from app.domain.errors import Forbidden, Unauthorized
from app.domain.models import UserRecord
from app.services import auth as auth_service
from generated import models as api
from generated.models import EntityTagList, UserRole

M = TypeVar("M", bound=BaseModel)

# Where `access_claims` leaves the claims of a request's token (see app.api.problems).
CLAIMS_KEY = "claims"


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


async def get_codec(request: Request) -> TokenCodec:
    codec: TokenCodec = request.app.state.codec
    return codec


async def get_cursors(request: Request) -> CursorCodec:
    cursors: CursorCodec = request.app.state.cursors
    return cursors


DatabaseDep = Annotated[Database, get_database]
CursorsDep = Annotated[CursorCodec, get_cursors]
HasherDep = Annotated[PasswordHasher, get_hasher]
CodecDep = Annotated[TokenCodec, get_codec]


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Not authenticated.")
    return token.strip()


async def access_claims(request: Request) -> TokenClaims:
    """A valid access token's claims; spends one request of its user's rate-limit budget (once
    per request, however many parsers ask).

    Both happen before the database is asked anything: a bad token or an exhausted budget costs
    no statement. Whether the token is still current (not revoked, the user active) is checked
    by the statement that does the endpoint's work (every /tasks statement goes through the
    caller's user row), or first, by `CurrentCaller` and `CurrentUser`."""
    known: TokenClaims | None = getattr(request.state, CLAIMS_KEY, None)
    if known is not None:
        return known
    codec = await parsed(request, get_codec)
    claims = auth_service.decode_token(codec, _bearer_token(request), expected=TokenType.ACCESS)
    user_id = str(claims.user_id)
    setattr(request.state, USER_ID_KEY, user_id)  # for the access log
    setattr(request.state, CLAIMS_KEY, claims)
    await limit_user(request, user_id)
    return claims


AccessClaims = Annotated[TokenClaims, access_claims]


async def get_caller(request: Request) -> Caller:
    """The caller, if their token is still current and they are active: one indexed lookup, so
    a revoked token or a deactivated user is refused at once."""
    claims = await parsed(request, access_claims)
    database = await parsed(request, get_database)
    return await auth_service.caller_for_claims(database.read, claims)


CurrentCaller = Annotated[Caller, get_caller]


async def get_admin(request: Request) -> Caller:
    caller: Caller = await parsed(request, get_caller)
    if caller.role != UserRole.admin:
        raise Forbidden("This operation needs the admin role.")
    return caller


AdminCaller = Annotated[Caller, get_admin]


async def get_current_user(request: Request) -> UserRecord:
    """The caller's own row, if their token is still current: for the endpoints about their
    account."""
    claims = await parsed(request, access_claims)
    database = await parsed(request, get_database)
    return await auth_service.user_for_claims(database.read, claims)


CurrentUser = Annotated[UserRecord, get_current_user]
# The auth endpoints' budget per client address, spent before anything else.
LimitedByClient = Annotated[None, limit_auth_by_client]


def _invalid(errors: list[Any], prefix: str) -> RequestValidationError:
    return RequestValidationError(
        [{**e, "loc": (prefix, *e.get("loc", ()))} for e in errors],
    )


def _require_media_type(request: Request, media_type: str) -> None:
    sent = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if sent != media_type:
        message = f"The body must be {media_type}"
        raise _invalid([{"loc": (), "msg": message, "type": "content_type"}], "body")


_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


@cache
def _declared(model: type[BaseModel], key: str, value: str) -> frozenset[str]:
    """The fields of `model` whose schema in the contract (or one of its variants) says
    `key: value`: `format: date-time`, `type: integer`."""

    def says(schema: Mapping[str, Any]) -> bool:
        return any(variant.get(key) == value for variant in schema.get("anyOf", [schema]))

    properties = model.model_json_schema()["properties"]
    return frozenset(name for name, schema in properties.items() if says(schema))


def _check_date_times(model: type[BaseModel], values: object, where: str) -> None:
    """Refuse a date-time field whose text is not RFC 3339's form (with an offset)."""
    if not isinstance(values, dict):
        return  # the model refuses it
    for name in _declared(model, "format", "date-time"):
        value = values.get(name)
        if isinstance(value, str) and not _RFC3339.fullmatch(value):
            message = "must be an RFC 3339 date-time with an offset, e.g. 2026-12-01T17:00:00Z"
            raise _invalid([{"loc": (name,), "msg": message, "type": "datetime_format"}], where)


def _integral(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _json_model(model: type[M]) -> type[M]:
    """`model`, its integer fields taking an integral number written with a fraction (`1034.0`)
    as the integer it is; anything else still meets the field's strict validation."""
    integers = _declared(model, "type", "integer")
    if not integers:
        return model
    fields: dict[str, Any] = {
        name: (Annotated[field.annotation, BeforeValidator(_integral)], field)
        for name, field in model.model_fields.items()
        if name in integers
    }
    return create_model(model.__name__, __base__=model, __module__=model.__module__, **fields)


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """The body, parsed as JSON into `model`, strictly."""
    has_date_times = bool(_declared(model, "format", "date-time"))
    model = _json_model(model)

    async def parse(request: Request) -> M:
        _require_media_type(request, "application/json")
        body = await request.body()
        if has_date_times:
            try:
                document = from_json(body)
            except ValueError:  # not JSON: the model's own error says so
                document = None
            _check_date_times(model, document, "body")
        try:
            return model.model_validate_json(body, strict=True)
        except ValidationError as exc:
            raise _invalid(exc.errors(include_url=False, include_input=False), "body") from exc

    return parse


def form_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """An application/x-www-form-urlencoded body, parsed into `model`.

    As OAuth2 asks, a known parameter sent twice is refused and unknown ones are ignored."""

    async def parse(request: Request) -> M:
        _require_media_type(request, "application/x-www-form-urlencoded")
        try:
            text = (await request.body()).decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError) as exc:
            raise _invalid([{"loc": (), "msg": "Malformed form", "type": "form"}], "body") from exc
        fields = dict(pairs)
        known = model.model_fields.keys()
        if sum(1 for name, _ in pairs if name in known) != len(known & fields.keys()):
            raise _invalid([{"loc": (), "msg": "Repeated field", "type": "form"}], "body")
        try:
            return model.model_validate_strings(fields, strict=True)
        except ValidationError as exc:
            raise _invalid(exc.errors(include_url=False, include_input=False), "body") from exc

    return parse


def query_params(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """The query string, parsed into `model` (the generated per-operation parameter models)."""

    async def parse(request: Request) -> M:
        values = dict(request.query_params)
        _check_date_times(model, values, "query")
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            raise _invalid(exc.errors(include_url=False, include_input=False), "query") from exc

    return parse


def path_uuid(name: str) -> Callable[[Request], Awaitable[uuid.UUID]]:
    """The path parameter `name`, a UUID (parsed as FastAPI parses one, with the same 422)."""

    async def parse(request: Request) -> uuid.UUID:
        try:
            return _uuid.validate_python(request.path_params[name])
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            raise _invalid([{**e, "loc": (name,)} for e in errors], "path") from exc

    return parse


_uuid = TypeAdapter(uuid.UUID)


def _header(name: str, adapter: TypeAdapter[Any]) -> Callable[[Request], Awaitable[str | None]]:
    """The header `name`, validated by `adapter`; None when absent."""

    async def parse(request: Request) -> str | None:
        value = request.headers.get(name)
        if value is None:
            return None
        try:
            return str(adapter.validate_python(value).root)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            raise _invalid([{**e, "loc": (name,)} for e in errors], "header") from exc

    return parse


TaskId = Annotated[uuid.UUID, path_uuid("task_id")]
UserId = Annotated[uuid.UUID, path_uuid("user_id")]
_etags = TypeAdapter(EntityTagList)
IfMatch = Annotated[str | None, _header("If-Match", _etags)]
IfNoneMatch = Annotated[str | None, _header("If-None-Match", _etags)]
IdempotencyKey = Annotated[str | None, _header("Idempotency-Key", TypeAdapter(api.IdempotencyKey))]
