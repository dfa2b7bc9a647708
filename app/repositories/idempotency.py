"""Every query on the `idempotency_key` table."""

import uuid
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.domain.models import IdempotencyKey


async def get(session: AsyncSession, *, user_id: uuid.UUID, key: str) -> IdempotencyKey | None:
    query = select(IdempotencyKey).where(
        col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key
    )
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def insert(session: AsyncSession, record: IdempotencyKey) -> bool:
    """Insert `record`; False when the user already has that key."""
    try:
        async with session.begin_nested():
            session.add(record)
    except IntegrityError:
        return False
    return True


async def save(session: AsyncSession, record: IdempotencyKey) -> None:
    session.add(record)
    await session.flush()


async def delete_key(session: AsyncSession, *, user_id: uuid.UUID, key: str) -> None:
    await session.exec(
        delete(IdempotencyKey).where(
            col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key
        )
    )


async def delete_expired(session: AsyncSession, *, now: datetime) -> None:
    """Every user's expired keys (the table would otherwise keep those of idle users)."""
    await session.exec(delete(IdempotencyKey).where(col(IdempotencyKey.expires_at) < now))
