from typing import Annotated

from fastapi import Request
from starlette.responses import Response

from app.api.deps import (
    CodecDep,
    CurrentCaller,
    DatabaseDep,
    HasherDep,
    LimitedByClient,
    form_body,
    json_body,
)
from app.api.rate_limit import limit_login_by_email
from app.api.responses import API_PREFIX, model_response, no_content
from app.api.routing import Router
from app.core.db import Database
from app.core.security import PasswordHasher, TokenCodec
from app.services import auth as auth_service
from app.services.auth import Tokens
from generated import models as api

router = Router(prefix=f"{API_PREFIX}/auth", tags=["auth"])

# Token responses must never be stored by a browser or a proxy.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _token_response(tokens: Tokens) -> Response:
    pair = api.TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        token_type=api.TokenType.bearer,
        expires_in=tokens.expires_in,
    )
    return model_response(pair, headers=NO_STORE)


async def _log_in(
    request: Request,
    database: Database,
    hasher: PasswordHasher,
    codec: TokenCodec,
    email: str,
    password: str,
) -> Response:
    """login and issue_token: the same credentials check, JSON or OAuth2 form."""
    await limit_login_by_email(request, email)
    user = await auth_service.authenticate(database, hasher, email=email, password=password)
    return _token_response(auth_service.issue_tokens(codec, user))


@router.post("/register")
async def register(
    _limited: LimitedByClient,
    data: Annotated[api.UserRegister, json_body(api.UserRegister)],
    hasher: HasherDep,
    database: DatabaseDep,
) -> Response:
    # Hashed before anything is written: hashing takes a few hundred milliseconds, and on
    # SQLite a write holds the database's one write lock.
    hashed_password = await hasher.hash(data.password)
    user = await auth_service.register(
        database,
        email=data.email,
        hashed_password=hashed_password,
        full_name=data.model_dump().get("full_name"),
    )
    return model_response(
        api.User.model_validate(user, from_attributes=True),
        status=201,
        headers={"Location": f"{API_PREFIX}/users/{user.id}"},
    )


@router.post("/login")
async def login(
    request: Request,
    _limited: LimitedByClient,
    database: DatabaseDep,
    hasher: HasherDep,
    codec: CodecDep,
    data: Annotated[api.LoginRequest, json_body(api.LoginRequest)],
) -> Response:
    return await _log_in(request, database, hasher, codec, data.email, data.password)


@router.post("/token")
async def issue_token(
    request: Request,
    _limited: LimitedByClient,
    database: DatabaseDep,
    hasher: HasherDep,
    codec: CodecDep,
    data: Annotated[api.TokenRequestForm, form_body(api.TokenRequestForm)],
) -> Response:
    return await _log_in(request, database, hasher, codec, data.username, data.password)


@router.post("/refresh")
async def refresh_tokens(
    _limited: LimitedByClient,
    database: DatabaseDep,
    codec: CodecDep,
    data: Annotated[api.RefreshRequest, json_body(api.RefreshRequest)],
) -> Response:
    return _token_response(await auth_service.refresh(database, codec, data.refresh_token))


@router.post("/logout")
async def logout(caller: CurrentCaller, database: DatabaseDep) -> Response:
    await auth_service.logout(database, caller)
    return no_content()
