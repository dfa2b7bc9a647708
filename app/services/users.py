"""The current user's profile and user administration."""

import uuid
from typing import Any

from app.core.db import Database, Run
from app.core.security import PasswordHasher
from app.domain.errors import Conflict, NotFound, Unauthorized
from app.domain.models import UserRecord
from app.domain.types import utcnow
from app.repositories import users as users_repo
from app.repositories.pagination import Page
from app.repositories.users import UserFilters
from generated.models import UserAdminUpdate, UserRole, UserUpdateMe

LAST_ADMIN = "The last active admin cannot be demoted, deactivated or deleted."
USER_NOT_FOUND = "User not found."


async def update_me(database: Database, user: UserRecord, changes: UserUpdateMe) -> UserRecord:
    values = changes.model_dump()  # MISSING fields are left out
    if not values:
        return user
    updated = await users_repo.update_user(
        database.write, user.id, {**values, "updated_at": utcnow()}
    )
    if updated is None:  # deleted since the caller was checked
        raise Unauthorized()
    return updated


async def list_users(
    database: Database, filters: UserFilters, page: Page
) -> tuple[list[UserRecord], tuple[Any, ...] | None]:
    """A page of users, and the key of its last row when another page follows."""
    rows = await users_repo.list_page(database.read, filters, page)
    users = rows[: page.size]
    return users, users_repo.sort_key(users[-1]) if len(rows) > page.size else None


async def get_user(run: Run, user_id: uuid.UUID) -> UserRecord:
    user = await users_repo.get(run, user_id)
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


async def update_user(
    database: Database, user_id: uuid.UUID, changes: UserAdminUpdate
) -> UserRecord:
    values = changes.model_dump()
    async with database.transaction() as run:
        user = await get_user(run, user_id)
        demoted = values.get("role", user.role) != UserRole.admin
        deactivated = values.get("is_active", user.is_active) is False
        if (demoted or deactivated) and await _is_last_active_admin(run, user):
            raise Conflict(LAST_ADMIN)
        if not values:
            return user
        updated = await users_repo.update_user(
            run,
            user_id,
            {**values, "updated_at": utcnow()},
            bump_token_version=deactivated and user.is_active,
        )
    assert updated is not None  # read in the same transaction
    return updated


async def delete_user(database: Database, user_id: uuid.UUID) -> None:
    async with database.transaction() as run:
        user = await get_user(run, user_id)
        if await _is_last_active_admin(run, user):
            raise Conflict(LAST_ADMIN)
        await users_repo.delete_user(run, user_id)


async def _is_last_active_admin(run: Run, user: UserRecord) -> bool:
    if user.role != UserRole.admin or not user.is_active:
        return False
    return await users_repo.count_active_admins(run) <= 1


async def ensure_admin(
    database: Database, hasher: PasswordHasher, *, email: str, password: str
) -> UserRecord | None:
    """Create an admin with these credentials unless the email is registered (never overwrite).
    Returns the new admin, or None when the email was taken (also by another process starting
    at the same time)."""
    if await users_repo.get_by_email(database.read, email) is not None:
        return None
    hashed = await hasher.hash(password)
    try:
        return await users_repo.add(
            database.write, email=email, hashed_password=hashed, role=UserRole.admin
        )
    except Conflict:
        return None
