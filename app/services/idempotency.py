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

from app.core.db import Database, Run
from app.domain.errors import Conflict, UnprocessableContent
from app.domain.types import utcnow
from app.repositories import idempotency as keys_repo

KEY_LIFETIME = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=1)
IN_PROGRESS = "A request with this Idempotency-Key is still in progress."


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: bytes
    headers: dict[str, str]


def fingerprint(canonical_request: str) -> str:
    return hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()


async def claim(
    database: Database, *, user_id: uuid.UUID, key: str, fingerprint: str
) -> StoredResponse | None:
    """Claim `key` for this request and commit the claim, or return the response to replay.

    UnprocessableContent when the key was used with another request; Conflict while the first
    request with the key is still being served.
    """
    now = utcnow()
    async with database.transaction() as run:
        await keys_repo.delete_expired(run, now=now)
        existing = await keys_repo.get(run, user_id=user_id, key=key)
        if existing is None:
            claimed = await keys_repo.add(
                run,
                {
                    "user_id": user_id,
                    "key": key,
                    "fingerprint": fingerprint,
                    "response_status": None,
                    "response_body": None,
                    "response_headers": None,
                    "locked_at": now,
                    "expires_at": now + KEY_LIFETIME,
                },
            )
            if not claimed:  # a concurrent request claimed it first
                raise Conflict(IN_PROGRESS)
            return None
        if existing.fingerprint != fingerprint:
            raise UnprocessableContent("This Idempotency-Key was used with a different request.")
        if existing.response_status is not None:
            return StoredResponse(
                status=existing.response_status,
                body=(existing.response_body or "").encode("utf-8"),
                headers=json.loads(existing.response_headers or "{}"),
            )
        if now - existing.locked_at < ABANDONED_AFTER:
            raise Conflict(IN_PROGRESS)
        await keys_repo.update_key(run, user_id=user_id, key=key, locked_at=now)
    return None


async def store_response(
    run: Run, *, user_id: uuid.UUID, key: str, response: StoredResponse
) -> None:
    await keys_repo.update_key(
        run,
        user_id=user_id,
        key=key,
        response_status=response.status,
        response_body=response.body.decode("utf-8"),
        response_headers=json.dumps(response.headers),
    )


async def release(database: Database, *, user_id: uuid.UUID, key: str) -> None:
    """Give the key back after the work failed, so that a retry can do it."""
    await keys_repo.delete_key(database.write, user_id=user_id, key=key)
