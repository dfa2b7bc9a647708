"""Idempotency keys: a retried create with the same key and request is answered with the first
response instead of creating again.

A key is claimed in its own committed transaction before the work starts, so a concurrent retry
sees it in flight (Conflict) instead of doing the work twice. The response is stored in the same
transaction as the work, so either both are committed or neither. A claim left behind by a
request that died is taken over after ABANDONED_AFTER.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.errors import Conflict, UnprocessableContent
from app.domain.types import utcnow
from app.repositories import idempotency as keys_repo

KEY_LIFETIME = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: bytes
    headers: dict[str, str]


def fingerprint(canonical_request: str) -> str:
    return hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()


async def claim(
    connection: AsyncConnection, *, user_id: uuid.UUID, key: str, fingerprint: str
) -> StoredResponse | None:
    """Claim `key` for this request and commit the claim, or return the response to replay.

    UnprocessableContent when the key was used with another request; Conflict while the first
    request with the key is still being served.
    """
    now = utcnow()
    await keys_repo.delete_expired(connection, now=now)
    claimed = await keys_repo.insert_new(
        connection,
        user_id=user_id,
        key=key,
        fingerprint=fingerprint,
        locked_at=now,
        expires_at=now + KEY_LIFETIME,
    )
    if not claimed:
        existing = await keys_repo.get(connection, user_id=user_id, key=key)
        assert existing is not None
        if existing.fingerprint != fingerprint:
            raise UnprocessableContent("This Idempotency-Key was used with a different request.")
        if existing.response_status is not None:
            return StoredResponse(
                status=existing.response_status,
                body=(existing.response_body or "").encode("utf-8"),
                headers=json.loads(existing.response_headers or "{}"),
            )
        if now - existing.locked_at < ABANDONED_AFTER:
            raise Conflict("A request with this Idempotency-Key is still in progress.")
        await keys_repo.update_key(connection, user_id=user_id, key=key, locked_at=now)
    # The one place outside the unit-of-work dependency that commits: the claim must be visible
    # to concurrent retries before the work begins.
    await connection.commit()
    return None


async def store_response(
    connection: AsyncConnection, *, user_id: uuid.UUID, key: str, response: StoredResponse
) -> None:
    await keys_repo.update_key(
        connection,
        user_id=user_id,
        key=key,
        response_status=response.status,
        response_body=response.body.decode("utf-8"),
        response_headers=json.dumps(response.headers),
    )


async def release(connection: AsyncConnection, *, user_id: uuid.UUID, key: str) -> None:
    """Give the key back after the work failed, so that a retry can do it."""
    await connection.rollback()
    await keys_repo.delete_key(connection, user_id=user_id, key=key)
    await connection.commit()
