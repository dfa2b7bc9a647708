"""Every query on the `user` table."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.domain.errors import Conflict
from app.domain.models import User
from app.repositories.pagination import Page
from generated.models import UserRole

EMAIL_TAKEN = "This email is already registered."


@dataclass(frozen=True, slots=True)
class UserFilters:
    role: UserRole | None = None
    is_active: bool | None = None
    search: str | None = None


def contains_pattern(text: str) -> str:
    """A LIKE pattern (escape character `\\`) for lower-cased values that contain `text`."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def lower_like(column: Any, pattern: Any) -> Any:
    """`column`, lower-cased, matches a `contains_pattern` (a string or a bind parameter)."""
    return func.lower(column).like(pattern, escape="\\")


def is_current(user_id: Any, version: Any) -> tuple[Any, ...]:
    """The user is active and `version` is their token version (no token was revoked since)."""
    return (col(User.id) == user_id, col(User.token_version) == version, col(User.is_active))


# Built once: SQLAlchemy then reuses its compiled form. A Core statement on the session's
# connection skips the ORM's identity map and object loading, most of a lookup's cost.
_CURRENT_ROLE = core_select(col(User.role)).where(
    *is_current(bindparam("user_id"), bindparam("version"))
)


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_current(session: AsyncSession, user_id: uuid.UUID, version: int) -> User | None:
    """The user, if active and `version` is still their token version."""
    return (await session.exec(select(User).where(*is_current(user_id, version)))).first()


async def current_role(
    connection: AsyncConnection, user_id: uuid.UUID, version: int
) -> UserRole | None:
    """The role of an active user whose token version is `version`; None for anyone else."""
    result = await connection.execute(_CURRENT_ROLE, {"user_id": user_id, "version": version})
    role = result.scalar_one_or_none()
    return None if role is None else UserRole(role)


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    query = select(User).where(func.lower(User.email) == email.lower())
    return (await session.exec(query)).first()


async def save(session: AsyncSession, user: User) -> User:
    """Insert or update `user`; an email another user has (in any letter case) is a Conflict."""
    session.add(user)
    await _flush_unique_email(session)
    return user


async def _flush_unique_email(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(EMAIL_TAKEN) from exc


async def bump_token_version(
    session: AsyncSession, user_id: uuid.UUID, *, hashed_password: str | None = None
) -> None:
    """Revoke every token issued to the user so far, atomically (with a new password hash, when
    the password changes)."""
    values: dict[str, Any] = {"token_version": User.token_version + 1}
    if hashed_password is not None:
        values["hashed_password"] = hashed_password
    await session.exec(
        update(User)
        .where(col(User.id) == user_id)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )


async def delete(session: AsyncSession, user: User) -> None:
    await session.delete(user)
    await session.flush()


async def count_active_admins(session: AsyncSession) -> int:
    """Active admins, their rows locked until the transaction ends (FOR UPDATE on PostgreSQL;
    SQLite's writers are serialised anyway), so two admins cannot demote each other at once."""
    query = select(User.id).where(User.role == UserRole.admin, col(User.is_active))
    return len((await session.exec(query.with_for_update())).all())


async def list_page(
    session: AsyncSession, filters: UserFilters, page: Page
) -> tuple[list[User], int]:
    conditions: list[Any] = []
    if filters.role is not None:
        conditions.append(User.role == filters.role)
    if filters.is_active is not None:
        conditions.append(User.is_active == filters.is_active)
    if filters.search:
        pattern = contains_pattern(filters.search)
        conditions.append(or_(lower_like(User.email, pattern), lower_like(User.full_name, pattern)))
    total_query = select(func.count()).select_from(User).where(*conditions)
    total = int((await session.exec(total_query)).one())
    rows = await session.exec(
        select(User)
        .where(*conditions)
        .order_by(col(User.created_at).desc(), col(User.id).desc())
        .offset(page.offset)
        .limit(page.size)
    )
    return list(rows.all()), total
