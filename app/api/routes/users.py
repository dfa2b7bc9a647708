import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.convertors import StringConvertor, register_url_convertor
from starlette.responses import Response

from app.api.deps import (
    AccessClaims,
    AdminCaller,
    CurrentCaller,
    CurrentUser,
    HasherDep,
    SessionDep,
    database_of,
    json_body,
    query_of,
)
from app.api.rate_limit import limit_login_by_email
from app.api.responses import API_PREFIX, model_response, no_content
from app.domain.models import User
from app.repositories.pagination import Page
from app.repositories.users import UserFilters
from app.services import auth as auth_service
from app.services import users as users_service
from generated import models as api

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["users"])


class _UserIdConvertor(StringConvertor):
    """Any path segment but `me`: /users/me is its own resource (GET, PATCH), so DELETE
    /users/me is a 405 rather than an attempt to parse "me" as an id (a 422)."""

    regex = "(?!me$)[^/]+"


register_url_convertor("user_id", _UserIdConvertor())


def _user(user: User) -> api.User:
    return api.User.model_validate(user, from_attributes=True)


# /users/me is declared before /users/{user_id}, so that "me" is never taken for an id.
@router.get("/me")
async def get_current_user(user: CurrentUser) -> Response:
    return model_response(_user(user))


@router.patch("/me")
async def update_current_user(
    user: CurrentUser,
    session: SessionDep,
    data: Annotated[api.UserUpdateMe, Depends(json_body(api.UserUpdateMe))],
) -> Response:
    return model_response(_user(await users_service.update_me(session, user, data)))


PasswordChangeBody = Annotated[api.PasswordChange, Depends(json_body(api.PasswordChange))]


async def _verified_new_password_hash(
    request: Request,
    claims: AccessClaims,
    data: PasswordChangeBody,
    hasher: HasherDep,
) -> str:
    """Checks the current password and hashes the new one before the write transaction opens
    (two hashes, hundreds of milliseconds; on SQLite a write transaction holds the one write
    lock). If the password changes meanwhile, the token is revoked and the write is a 401."""
    async with database_of(request).session(write=False) as session:
        user = await auth_service.user_for_claims(session, claims)
    # Checking the current password is a login attempt: it spends the login budget.
    await limit_login_by_email(request, user.email)
    return await auth_service.new_password_hash(
        hasher, user, current_password=data.current_password, new_password=data.new_password
    )


@router.put("/me/password")
async def change_password(
    hashed_password: Annotated[str, Depends(_verified_new_password_hash)],
    caller: CurrentCaller,
    session: SessionDep,
) -> Response:
    await auth_service.set_password(session, caller, hashed_password)
    return no_content()


@router.get("")
async def list_users(request: Request, _admin: AdminCaller, session: SessionDep) -> Response:
    params = query_of(request, api.ListUsersParametersQuery)
    given = params.model_dump()
    filters = UserFilters(
        role=given.get("role"), is_active=given.get("is_active"), search=given.get("q")
    )
    users, total = await users_service.list_users(
        session, filters, Page(params.page, params.per_page)
    )
    return model_response(
        api.UserList(
            users=[_user(u) for u in users], total=total, page=params.page, per_page=params.per_page
        )
    )


@router.get("/{user_id:user_id}")
async def get_user(_admin: AdminCaller, session: SessionDep, user_id: uuid.UUID) -> Response:
    return model_response(_user(await users_service.get_user(session, user_id)))


@router.patch("/{user_id:user_id}")
async def update_user(
    _admin: AdminCaller,
    session: SessionDep,
    user_id: uuid.UUID,
    data: Annotated[api.UserAdminUpdate, Depends(json_body(api.UserAdminUpdate))],
) -> Response:
    return model_response(_user(await users_service.update_user(session, user_id, data)))


@router.delete("/{user_id:user_id}")
async def delete_user(_admin: AdminCaller, session: SessionDep, user_id: uuid.UUID) -> Response:
    await users_service.delete_user(session, user_id)
    return no_content()
