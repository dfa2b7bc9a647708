"""Every statement on the `user` table."""

import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from pydantic import AwareDatetime, TypeAdapter
from sqlalchemy import String, bindparam, delete, func, insert, or_, select, update

from app.core.db import Run, UniqueViolation
from app.core.statements import NoRows, Statement
from app.domain.errors import Conflict
from app.domain.models import User, UserRecord
from app.domain.types import utcnow
from app.repositories.pagination import Order, Page
from generated.models import UserRole

EMAIL_TAKEN = "This email is already registered."

_USER = User.metadata.tables["user"]


class Role(NamedTuple):
    role: UserRole


class UserId(NamedTuple):
    id: uuid.UUID


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
    return (_USER.c.id == user_id, _USER.c.token_version == version, _USER.c.is_active)


_BY_ID = Statement(select(_USER).where(_USER.c.id == bindparam("user_id")), UserRecord)
_CURRENT = Statement(
    select(_USER).where(*is_current(bindparam("user_id"), bindparam("version"))), UserRecord
)
_CURRENT_ROLE = Statement(
    select(_USER.c.role).where(*is_current(bindparam("user_id"), bindparam("version"))), Role
)
_BY_EMAIL = Statement(
    select(_USER).where(func.lower(_USER.c.email) == bindparam("email")), UserRecord
)
_INSERT = Statement(insert(_USER).returning(*_USER.c), UserRecord)
_DELETE = Statement(delete(_USER).where(_USER.c.id == bindparam("user_id")), NoRows)
# Locked until the transaction ends (FOR UPDATE on PostgreSQL; SQLite's writers are serialised
# anyway), so two admins cannot demote each other at once.
_ACTIVE_ADMINS = Statement(
    select(_USER.c.id).where(_USER.c.role == UserRole.admin, _USER.c.is_active).with_for_update(),
    UserId,
)


async def get(run: Run, user_id: uuid.UUID) -> UserRecord | None:
    rows = await run(_BY_ID, {"user_id": user_id})
    return rows[0] if rows else None


async def get_current(run: Run, user_id: uuid.UUID, version: int) -> UserRecord | None:
    """The user, if active and `version` is still their token version."""
    rows = await run(_CURRENT, {"user_id": user_id, "version": version})
    return rows[0] if rows else None


async def current_role(run: Run, user_id: uuid.UUID, version: int) -> UserRole | None:
    """The role of an active user whose token version is `version`; None for anyone else."""
    rows = await run(_CURRENT_ROLE, {"user_id": user_id, "version": version})
    return rows[0].role if rows else None


async def get_by_email(run: Run, email: str) -> UserRecord | None:
    """The user with this email, in any letter case."""
    rows = await run(_BY_EMAIL, {"email": email.lower()})
    return rows[0] if rows else None


async def add(
    run: Run,
    *,
    email: str,
    hashed_password: str,
    full_name: str | None = None,
    role: UserRole = UserRole.user,
) -> UserRecord:
    """Insert a new, active user; an email another user has (in any letter case) is a
    Conflict."""
    now = utcnow()
    values = {
        "id": uuid.uuid4(),
        "email": email,
        "full_name": full_name,
        "hashed_password": hashed_password,
        "role": role,
        "is_active": True,
        "token_version": 0,
        "created_at": now,
        "updated_at": now,
    }
    try:
        [user] = await run(_INSERT, values)
    except UniqueViolation as exc:
        raise Conflict(EMAIL_TAKEN) from exc
    return user


@lru_cache(maxsize=1 << (len(_USER.c) + 1))
def _update_statement(columns: frozenset[str], bump_token_version: bool) -> Statement[UserRecord]:
    """UPDATE of `columns` (each from the bind parameter `set_<column>`); with
    `bump_token_version`, every token issued so far is revoked in the same statement."""
    new_values: dict[Any, Any] = {
        _USER.c[name]: bindparam(f"set_{name}", type_=_USER.c[name].type) for name in columns
    }
    if bump_token_version:
        new_values[_USER.c.token_version] = _USER.c.token_version + 1
    statement = update(_USER).where(_USER.c.id == bindparam("user_id")).values(new_values)
    return Statement(statement.returning(*_USER.c), UserRecord)


async def update_user(
    run: Run, user_id: uuid.UUID, values: dict[str, Any], *, bump_token_version: bool = False
) -> UserRecord | None:
    """Apply `values` to the user (None if there is no such user); an email another user has
    is a Conflict. With `bump_token_version`, every token issued to them so far is revoked."""
    statement = _update_statement(frozenset(values), bump_token_version)
    params = {"user_id": user_id} | {f"set_{name}": value for name, value in values.items()}
    try:
        rows = await run(statement, params)
    except UniqueViolation as exc:
        raise Conflict(EMAIL_TAKEN) from exc
    return rows[0] if rows else None


async def delete_user(run: Run, user_id: uuid.UUID) -> None:
    await run(_DELETE, {"user_id": user_id})


async def count_active_admins(run: Run) -> int:
    """Active admins, their rows locked until the transaction ends (see _ACTIVE_ADMINS)."""
    return len(await run(_ACTIVE_ADMINS, {}))


ORDER = Order(
    keys=(_USER.c.created_at, _USER.c.id),
    descending=True,
    key_type=TypeAdapter(tuple[AwareDatetime, uuid.UUID]),
)


def sort_key(user: UserRecord) -> tuple[Any, ...]:
    """`user`'s key in the list's order (newest first)."""
    return (user.created_at, user.id)


@lru_cache(maxsize=16)
def _page_statement(filters: frozenset[str], after: bool) -> Statement[UserRecord]:
    conditions: list[Any] = []
    if "role" in filters:
        conditions.append(_USER.c.role == bindparam("role"))
    if "is_active" in filters:
        conditions.append(_USER.c.is_active == bindparam("is_active"))
    if "search" in filters:
        pattern = bindparam("search", type_=String())
        conditions.append(
            or_(lower_like(_USER.c.email, pattern), lower_like(_USER.c.full_name, pattern))
        )
    if after:
        conditions.append(ORDER.after((False, False)))
    page = select(_USER).where(*conditions).order_by(*ORDER.order_by()).limit(bindparam("limit"))
    return Statement(page, UserRecord)


async def list_page(run: Run, filters: UserFilters, page: Page) -> list[UserRecord]:
    """Up to `page.size + 1` users after `page.after`, newest first (one more than the page, to
    tell whether another follows)."""
    values = {
        "role": filters.role,
        "is_active": filters.is_active,
        "search": contains_pattern(filters.search) if filters.search else None,
    }
    given = {name: value for name, value in values.items() if value is not None}
    statement = _page_statement(frozenset(given), page.after is not None)
    params = {**given, "limit": page.size + 1}
    if page.after is not None:
        params |= ORDER.parameters(page.after)
    return await run(statement, params)
