"""Every statement on the `idempotency_key` table."""

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from app.core.db import Run, UniqueViolation
from app.core.statements import NoRows, Statement
from app.domain.models import IdempotencyKey, IdempotencyKeyRecord

_KEY = IdempotencyKey.metadata.tables["idempotency_key"]
_THE_KEY = (_KEY.c.user_id == bindparam("user_id"), _KEY.c.key == bindparam("key"))

_GET = Statement(select(_KEY).where(*_THE_KEY), IdempotencyKeyRecord)
_INSERT = Statement(insert(_KEY), NoRows)
_DELETE = Statement(delete(_KEY).where(*_THE_KEY), NoRows)
_DELETE_EXPIRED = Statement(delete(_KEY).where(_KEY.c.expires_at < bindparam("now")), NoRows)


async def get(run: Run, *, user_id: uuid.UUID, key: str) -> IdempotencyKeyRecord | None:
    rows = await run(_GET, {"user_id": user_id, "key": key})
    return rows[0] if rows else None


async def add(run: Run, values: dict[str, Any]) -> bool:
    """Insert a record of these column values; False when the user already has that key."""
    try:
        await run(_INSERT, values)
    except UniqueViolation:
        return False
    return True


@lru_cache(maxsize=1 << len(_KEY.c))
def _update_statement(columns: frozenset[str]) -> Statement[NoRows]:
    new_values = {
        _KEY.c[name]: bindparam(f"set_{name}", type_=_KEY.c[name].type) for name in columns
    }
    return Statement(update(_KEY).where(*_THE_KEY).values(new_values), NoRows)


async def update_key(run: Run, *, user_id: uuid.UUID, key: str, **values: Any) -> None:
    params = {"user_id": user_id, "key": key} | {f"set_{n}": v for n, v in values.items()}
    await run(_update_statement(frozenset(values)), params)


async def delete_key(run: Run, *, user_id: uuid.UUID, key: str) -> None:
    await run(_DELETE, {"user_id": user_id, "key": key})


async def delete_expired(run: Run, *, now: datetime) -> None:
    """Every user's expired keys (the table would otherwise keep those of idle users)."""
    await run(_DELETE_EXPIRED, {"now": now})
