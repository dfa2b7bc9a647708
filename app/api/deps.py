"""Dependencies as types: an endpoint's signature says what it needs and who may call it. The
/tasks endpoints are the exception: they call `access_claims` and the parsers here themselves
(see `access_claims`).

Every dependency is `async def`: FastAPI runs a plain `def` in the thread pool, a hop that costs
more than what these functions do.

Request bodies are validated strictly against the generated models (FastAPI's lax mode would
accept `"priority": "1"` or `due_date: 0`), so the server rejects exactly what the contract does.
"""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.middleware.access_log import USER_ID_KEY
from app.api.rate_limit import limit_user
from app.core.db import Database
from app.core.security import PasswordHasher, TokenClaims, TokenCodec, TokenType
from app.domain.caller import Caller
from app.domain.errors import Forbidden, Unauthorized
from app.domain.models import User
from app.repositories import users as users_repo
from app.services import auth as auth_service
from generated import models as api
from generated.models import EntityTagList, UserRole

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def database_of(request: Request) -> Database:
    """The app's database. A function of the request, not a dependency: FastAPI spends some
    65,000 instructions solving each dependency (a sixth of a bare /ping), more than reading an
    attribute is worth."""
    database: Database = request.app.state.database
    return database


async def _writes(request: Request) -> bool:
    """Whether the request's transaction writes. A writing request's body is read first: a slow
    upload must not hold SQLite's write lock."""
    write = request.method not in SAFE_METHODS
    if write:
        await request.body()
    return write


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    database = database_of(request)
    async with database.session(write=await _writes(request)) as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A transaction that does not take SQLite's write lock up front (for login, which spends
    most of its time hashing and rarely writes)."""
    async with database_of(request).session(write=False) as session:
        yield session


async def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


async def get_codec(request: Request) -> TokenCodec:
    codec: TokenCodec = request.app.state.codec
    return codec


# scope="function": the transaction ends (commit or rollback) before the response goes out, so a
# client never sees a success that was not committed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]
CodecDep = Annotated[TokenCodec, Depends(get_codec)]


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Not authenticated.")
    return token.strip()


async def access_claims(request: Request) -> TokenClaims:
    """A valid access token's claims; spends one request of its user's rate-limit budget.

    Both happen before any transaction opens: a bad token or an exhausted budget is refused
    without touching the database (or queueing for SQLite's write lock). The /tasks endpoints,
    the requests clients repeat most, call it as their first line instead of declaring it, and
    parse the rest of their input after it (`path_id`, `query_of`, `json_of`, the headers): a
    dependency or a typed parameter costs FastAPI more than the parsing it does (a GET spent
    some 13 % of its time on them). So an app's `dependency_overrides` of this function reach
    the other routes only.

    Whether the token is still current is not checked here. An endpoint either takes
    `CurrentCaller` (one statement before its work), or checks it in the statement that does
    its work: every /tasks operation does, as the statement that reads or writes the caller's
    tasks goes through their user row. So on /tasks, a correctly signed but revoked token that
    comes with malformed input (path, query, headers or body) is told about the input first:
    422 before 401. What is malformed is the public contract's business, so nothing leaks."""
    codec = await get_codec(request)
    claims = auth_service.decode_token(codec, _bearer_token(request), expected=TokenType.ACCESS)
    user_id = str(claims.user_id)
    setattr(request.state, USER_ID_KEY, user_id)  # for the access log
    await limit_user(request, user_id)
    return claims


AccessClaims = Annotated[TokenClaims, Depends(access_claims)]


async def get_caller(claims: AccessClaims, session: SessionDep) -> Caller:
    """The caller, if their token is still current and they are active: one indexed lookup on
    every request, so a revoked token or a deactivated user is refused at once. Endpoints declare
    it before their session, so that it runs first."""
    return await auth_service.caller_for_claims(await session.connection(), claims)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def get_admin(caller: CurrentCaller) -> Caller:
    if caller.role != UserRole.admin:
        raise Forbidden("This operation needs the admin role.")
    return caller


AdminCaller = Annotated[Caller, Depends(get_admin)]


async def get_current_user(caller: CurrentCaller, session: SessionDep) -> User:
    """The caller's own row, for the endpoints about their account."""
    user = await users_repo.get(session, caller.id)
    if user is None:  # deleted since the caller was checked (PostgreSQL, read committed)
        raise Unauthorized()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def _invalid(errors: list[Any], prefix: str) -> RequestValidationError:
    return RequestValidationError(
        [{**e, "loc": (prefix, *e.get("loc", ()))} for e in errors],
    )


def _require_media_type(request: Request, media_type: str) -> None:
    sent = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if sent != media_type:
        message = f"The body must be {media_type}"
        raise _invalid([{"loc": (), "msg": message, "type": "content_type"}], "body")


async def json_of(request: Request, model: type[M]) -> M:
    """The body parsed as JSON into `model`, strictly."""
    _require_media_type(request, "application/json")
    try:
        return model.model_validate_json(await request.body(), strict=True)
    except ValidationError as exc:
        raise _invalid(exc.errors(include_url=False, include_input=False), "body") from exc


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """`json_of` as a dependency."""

    async def parse(request: Request) -> M:
        return await json_of(request, model)

    return parse


def form_body(model: type[M]) -> Callable[[Request], Any]:
    """Parse an application/x-www-form-urlencoded body into `model`.

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


def query_of(request: Request, model: type[M]) -> M:
    """The query string parsed into `model` (the generated per-operation parameter models), in
    the endpoint as `database_of` is read: solving a dependency would cost more than parsing."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise _invalid(exc.errors(include_url=False, include_input=False), "query") from exc


def path_id(request: Request, name: str) -> uuid.UUID:
    """A UUID path parameter, parsed in the endpoint (see `query_of`) as FastAPI would: the same
    lax parsing and the same 422."""
    return _parameter(_uuid, request.path_params[name], "path", name)


_uuid = TypeAdapter(uuid.UUID)
_etags = TypeAdapter(EntityTagList)
_idempotency_key = TypeAdapter(api.IdempotencyKey)


def _parameter(adapter: TypeAdapter[T], value: str, where: str, name: str) -> T:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        raise _invalid([{**e, "loc": (name,)} for e in errors], where) from exc


def _header(request: Request, name: str, adapter: TypeAdapter[Any]) -> str | None:
    value = request.headers.get(name)
    if value is None:
        return None
    return str(_parameter(adapter, value, "header", name).root)


def if_match(request: Request) -> str | None:
    return _header(request, "If-Match", _etags)


def if_none_match(request: Request) -> str | None:
    return _header(request, "If-None-Match", _etags)


def idempotency_key(request: Request) -> str | None:
    return _header(request, "Idempotency-Key", _idempotency_key)
