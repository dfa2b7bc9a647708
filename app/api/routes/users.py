from typing import Annotated

from fastapi import Request
from starlette.convertors import StringConvertor, register_url_convertor
from starlette.responses import Response

from app.api.deps import (
    AccessClaims,
    AdminCaller,
    CurrentUser,
    CursorsDep,
    DatabaseDep,
    HasherDep,
    UserId,
    json_body,
    query_params,
)
from app.api.paging import list_scope, next_page, page_of
from app.api.rate_limit import limit_login_by_email
from app.api.responses import API_PREFIX, model_response, no_content
from app.api.routing import Router
from app.domain.models import UserRecord
from app.repositories import users as users_repo
from app.repositories.users import UserFilters
from app.services import auth as auth_service
from app.services import users as users_service
from generated import models as api

router = Router(prefix=f"{API_PREFIX}/users", tags=["users"])


class _UserIdConvertor(StringConvertor):
    """Any path segment but `me`: /users/me is its own resource (GET, PATCH), so DELETE
    /users/me is a 405 rather than an attempt to parse "me" as an id (a 422)."""

    regex = "(?!me$)[^/]+"


register_url_convertor("user_id", _UserIdConvertor())


def _user(user: UserRecord) -> api.User:
    return api.User.model_validate(user, from_attributes=True)


# /users/me is declared before /users/{user_id}, so that "me" is never taken for an id.
@router.get("/me")
async def get_current_user(user: CurrentUser) -> Response:
    return model_response(_user(user))


@router.patch("/me")
async def update_current_user(
    user: CurrentUser,
    database: DatabaseDep,
    data: Annotated[api.UserUpdateMe, json_body(api.UserUpdateMe)],
) -> Response:
    return model_response(_user(await users_service.update_me(database, user, data)))


@router.put("/me/password")
async def change_password(
    request: Request,
    claims: AccessClaims,
    user: CurrentUser,
    database: DatabaseDep,
    hasher: HasherDep,
    data: Annotated[api.PasswordChange, json_body(api.PasswordChange)],
) -> Response:
    # Checking the current password is a login attempt: it spends the login budget.
    await limit_login_by_email(request, user.email)
    # Two hashes, hundreds of milliseconds, before anything is written.
    hashed_password = await auth_service.new_password_hash(
        hasher, user, current_password=data.current_password, new_password=data.new_password
    )
    # If the password changed meanwhile, the token was revoked: then this is a 401.
    caller = await auth_service.caller_for_claims(database.read, claims)
    await auth_service.set_password(database, caller, hashed_password)
    return no_content()


ListUsersQuery = Annotated[api.ListUsersParametersQuery, query_params(api.ListUsersParametersQuery)]


@router.get("")
async def list_users(
    request: Request,
    admin: AdminCaller,
    database: DatabaseDep,
    cursors: CursorsDep,
    params: ListUsersQuery,
) -> Response:
    given = params.model_dump()
    filters = UserFilters(
        role=given.get("role"), is_active=given.get("is_active"), search=given.get("q")
    )
    scope = list_scope("users", admin.id, filters, "-created_at")
    page = page_of(cursors, scope, users_repo.ORDER, given.get("cursor"), params.per_page)
    users, last = await users_service.list_users(database, filters, page)
    next_cursor, headers = next_page(request, cursors, scope, users_repo.ORDER, last)
    listed = {"users": users, "per_page": page.size, "next_cursor": next_cursor}
    return model_response(
        api.UserList.model_validate(listed, from_attributes=True), headers=headers
    )


@router.get("/{user_id:user_id}")
async def get_user(_admin: AdminCaller, database: DatabaseDep, user_id: UserId) -> Response:
    return model_response(_user(await users_service.get_user(database.read, user_id)))


@router.patch("/{user_id:user_id}")
async def update_user(
    _admin: AdminCaller,
    database: DatabaseDep,
    user_id: UserId,
    data: Annotated[api.UserAdminUpdate, json_body(api.UserAdminUpdate)],
) -> Response:
    return model_response(_user(await users_service.update_user(database, user_id, data)))


@router.delete("/{user_id:user_id}")
async def delete_user(_admin: AdminCaller, database: DatabaseDep, user_id: UserId) -> Response:
    await users_service.delete_user(database, user_id)
    return no_content()
