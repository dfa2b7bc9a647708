"""Every query on the `idempotency_key` table (Core, on the request's connection: the records
belong to task creates, which run on one)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.models import IdempotencyKey

_KEY = IdempotencyKey.metadata.tables["idempotency_key"]


def _the_key(user_id: uuid.UUID, key: str) -> tuple[Any, ...]:
    return (_KEY.c.user_id == user_id, _KEY.c.key == key)


async def get(connection: AsyncConnection, *, user_id: uuid.UUID, key: str) -> Row[Any] | None:
    return (await connection.execute(select(_KEY).where(*_the_key(user_id, key)))).first()


async def insert_new(connection: AsyncConnection, **values: Any) -> bool:
    """Insert a record of these column values; False when the user already has that key."""
    try:
        async with connection.begin_nested():
            await connection.execute(insert(_KEY).values(**values))
    except IntegrityError:
        return False
    return True


async def update_key(
    connection: AsyncConnection, *, user_id: uuid.UUID, key: str, **values: Any
) -> None:
    await connection.execute(update(_KEY).where(*_the_key(user_id, key)).values(**values))


async def delete_key(connection: AsyncConnection, *, user_id: uuid.UUID, key: str) -> None:
    await connection.execute(delete(_KEY).where(*_the_key(user_id, key)))


async def delete_expired(connection: AsyncConnection, *, now: datetime) -> None:
    """Every user's expired keys (the table would otherwise keep those of idle users)."""
    await connection.execute(delete(_KEY).where(_KEY.c.expires_at < now))
