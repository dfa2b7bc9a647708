from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from app.api.deps import (
    CodecDep,
    CurrentCaller,
    HasherDep,
    ReadSessionDep,
    SessionDep,
    form_body,
    json_body,
)
from app.api.rate_limit import limit_auth_by_client, limit_login_by_email
from app.api.responses import API_PREFIX, model_response, no_content
from app.core.security import PasswordHasher, TokenCodec
from app.services import auth as auth_service
from app.services.auth import Tokens
from generated import models as api

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])

LimitByClient = Depends(limit_auth_by_client)

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
    session: AsyncSession,
    hasher: PasswordHasher,
    codec: TokenCodec,
    email: str,
    password: str,
) -> Response:
    """login and issue_token: the same credentials check, JSON or OAuth2 form."""
    await limit_login_by_email(request, email)
    user = await auth_service.authenticate(session, hasher, email=email, password=password)
    return _token_response(auth_service.issue_tokens(codec, user))


RegisterBody = Annotated[api.UserRegister, Depends(json_body(api.UserRegister))]


async def _new_password_hash(data: RegisterBody, hasher: HasherDep) -> str:
    """Hashed before the write transaction opens: hashing takes a few hundred milliseconds, and
    on SQLite a write transaction holds the database's one write lock."""
    return await hasher.hash(data.password)


@router.post("/register", dependencies=[LimitByClient])
async def register(
    data: RegisterBody,
    hashed_password: Annotated[str, Depends(_new_password_hash)],
    session: SessionDep,
) -> Response:
    user = await auth_service.register(
        session,
        email=data.email,
        hashed_password=hashed_password,
        full_name=data.model_dump().get("full_name"),
    )
    return model_response(
        api.User.model_validate(user, from_attributes=True),
        status=201,
        headers={"Location": f"{API_PREFIX}/users/{user.id}"},
    )


@router.post("/login", dependencies=[LimitByClient])
async def login(
    request: Request,
    session: ReadSessionDep,
    hasher: HasherDep,
    codec: CodecDep,
    data: Annotated[api.LoginRequest, Depends(json_body(api.LoginRequest))],
) -> Response:
    return await _log_in(request, session, hasher, codec, data.email, data.password)


@router.post("/token", dependencies=[LimitByClient])
async def issue_token(
    request: Request,
    session: ReadSessionDep,
    hasher: HasherDep,
    codec: CodecDep,
    data: Annotated[api.TokenRequestForm, Depends(form_body(api.TokenRequestForm))],
) -> Response:
    return await _log_in(request, session, hasher, codec, data.username, data.password)


@router.post("/refresh", dependencies=[LimitByClient])
async def refresh_tokens(
    session: ReadSessionDep,
    codec: CodecDep,
    data: Annotated[api.RefreshRequest, Depends(json_body(api.RefreshRequest))],
) -> Response:
    return _token_response(await auth_service.refresh(session, codec, data.refresh_token))


@router.post("/logout")
async def logout(caller: CurrentCaller, session: SessionDep) -> Response:
    await auth_service.logout(session, caller)
    return no_content()
