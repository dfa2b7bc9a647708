"""The current user's profile and user administration."""

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.security import PasswordHasher
from app.domain.errors import Conflict, NotFound
from app.domain.models import User
from app.domain.types import utcnow
from app.repositories import users as users_repo
from app.repositories.pagination import Page
from app.repositories.users import UserFilters
from generated.models import UserAdminUpdate, UserRole, UserUpdateMe

LAST_ADMIN = "The last active admin cannot be demoted, deactivated or deleted."


async def update_me(session: AsyncSession, user: User, changes: UserUpdateMe) -> User:
    values = changes.model_dump()  # MISSING fields are left out
    if "email" in values and values["email"].lower() != user.email.lower():
        existing = await users_repo.get_by_email(session, values["email"])
        if existing is not None:
            raise Conflict(users_repo.EMAIL_TAKEN)
    return await _apply(session, user, values)


async def list_users(
    session: AsyncSession, filters: UserFilters, page: Page
) -> tuple[list[User], int]:
    return await users_repo.list_page(session, filters, page)


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await users_repo.get(session, user_id)
    if user is None:
        raise NotFound("User not found.")
    return user


async def update_user(session: AsyncSession, user_id: uuid.UUID, changes: UserAdminUpdate) -> User:
    user = await get_user(session, user_id)
    values = changes.model_dump()
    demoted = values.get("role", user.role) != UserRole.admin
    deactivated = values.get("is_active", user.is_active) is False
    if (demoted or deactivated) and await _is_last_active_admin(session, user):
        raise Conflict(LAST_ADMIN)
    if deactivated and user.is_active:
        user.token_version += 1
    return await _apply(session, user, values)


async def delete_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    user = await get_user(session, user_id)
    if await _is_last_active_admin(session, user):
        raise Conflict(LAST_ADMIN)
    await users_repo.delete(session, user)


async def _is_last_active_admin(session: AsyncSession, user: User) -> bool:
    if user.role != UserRole.admin or not user.is_active:
        return False
    return await users_repo.count_active_admins(session) <= 1


async def _apply(session: AsyncSession, user: User, values: dict[str, object]) -> User:
    if not values:
        return user
    for name, value in values.items():
        setattr(user, name, value)
    user.updated_at = utcnow()
    return await users_repo.save(session, user)


async def ensure_admin(
    session: AsyncSession, hasher: PasswordHasher, *, email: str, password: str
) -> User | None:
    """Create an admin with these credentials unless the email is registered (never overwrite).
    Returns the new admin, or None when the email was taken."""
    if await users_repo.get_by_email(session, email) is not None:
        return None
    hashed = await hasher.hash(password)
    try:
        # A savepoint: when several processes start at once, one creates and the rest find it.
        async with session.begin_nested():
            return await users_repo.save(
                session, User(email=email, hashed_password=hashed, role=UserRole.admin)
            )
    except Conflict:
        return None
